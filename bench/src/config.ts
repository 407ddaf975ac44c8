/** Sizes of a full run and of the smoke run CI uses to check that the suite still works. */
export interface BenchSizes {
  throughputBytes: number;
  throughputReps: number;
  echoKeys: number;
  /** Untimed keys before each echo repetition (JIT warm-up). */
  echoWarmupKeys: number;
  echoReps: number;
  createSamples: number;
  createReps: number;
  cycles: number;
  cycleReps: number;
  massSessions: number;
  massReps: number;
  memorySessions: number;
  memoryWorkerSessions: number;
  memoryReps: number;
  capacityCap: number;
  capacityBoundBytes: number;
  capacityBatch: number;
  halfOpenReps: number;
  orphanReps: number;
  gatewayKillSessions: number;
  gatewayKillReps: number;
}

const GIB = 1024 ** 3;

export const FULL: BenchSizes = {
  throughputBytes: 100e6,
  throughputReps: 5,
  echoKeys: 1000,
  echoWarmupKeys: 3000,
  echoReps: 3,
  createSamples: 30,
  createReps: 3,
  cycles: 50,
  cycleReps: 3,
  massSessions: 500,
  massReps: 3,
  memorySessions: 200,
  memoryWorkerSessions: 100,
  memoryReps: 3,
  capacityCap: 2000,
  capacityBoundBytes: 8 * GIB,
  capacityBatch: 100,
  halfOpenReps: 3,
  orphanReps: 5,
  gatewayKillSessions: 20,
  gatewayKillReps: 3,
};

export const SMOKE: BenchSizes = {
  throughputBytes: 2e6,
  throughputReps: 1,
  echoKeys: 50,
  echoWarmupKeys: 20,
  echoReps: 1,
  createSamples: 3,
  createReps: 1,
  cycles: 5,
  cycleReps: 1,
  massSessions: 5,
  massReps: 1,
  memorySessions: 5,
  memoryWorkerSessions: 3,
  memoryReps: 1,
  capacityCap: 20,
  capacityBoundBytes: 8 * GIB,
  capacityBatch: 10,
  halfOpenReps: 1,
  orphanReps: 1,
  gatewayKillSessions: 2,
  gatewayKillReps: 1,
};
