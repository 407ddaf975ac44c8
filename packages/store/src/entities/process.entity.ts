import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { idColumn, tagColumn } from './columns.js';

/** A process a gateway spawned, kept so the next start can sweep it if the gateway died. */
@Entity({ name: 'processes' })
@Index('uq_processes_identity', ['instanceId', 'pid', 'startTime'], { unique: true })
export class ProcessEntity {
  @PrimaryGeneratedColumn('increment', { name: 'id', type: 'integer' })
  id!: number;

  @Column({ name: 'pid', type: 'integer' })
  pid!: number;

  /** Clock ticks since boot can pass 2^31; PG returns bigint as a string, so callers parse. */
  @Column({ name: 'start_time', type: 'bigint' })
  startTime!: string | number;

  @Column(tagColumn('kind'))
  kind!: string;

  @Column(idColumn('session_id', true))
  sessionId!: string | null;

  @Column(idColumn('run_id', true))
  runId!: string | null;

  @Column(idColumn('instance_id'))
  instanceId!: string;
}
