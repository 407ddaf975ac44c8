import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { idColumn, primaryIdColumn, timeColumn } from './columns.js';
import { RunEntity } from './run.entity.js';
import { SessionEntity } from './session.entity.js';

/** One prompt sent to a session's agent, with the output and exit status it produced. */
@Entity({ name: 'turns' })
@Index('idx_turns_session_started', ['sessionId', 'startedAt'])
@Index('idx_turns_run_id', ['runId'])
export class TurnEntity {
  @PrimaryColumn(primaryIdColumn('turn_id'))
  turnId!: string;

  @Column(idColumn('session_id'))
  sessionId!: string;

  @ManyToOne(() => SessionEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({
    name: 'session_id',
    referencedColumnName: 'sessionId',
    foreignKeyConstraintName: 'fk_turns_session',
  })
  session?: SessionEntity;

  @Column(idColumn('run_id'))
  runId!: string;

  @ManyToOne(() => RunEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({
    name: 'run_id',
    referencedColumnName: 'runId',
    foreignKeyConstraintName: 'fk_turns_run',
  })
  run?: RunEntity;

  @Column({ name: 'text', type: 'text' })
  text!: string;

  @Column({ name: 'output', type: 'text' })
  output!: string;

  @Column({ name: 'exit_code', type: 'integer', nullable: true })
  exitCode!: number | null;

  @Column({ name: 'signal', type: 'varchar', length: 32, nullable: true })
  signal!: string | null;

  @Column(timeColumn('started_at'))
  startedAt!: string;

  @Column(timeColumn('ended_at', true))
  endedAt!: string | null;
}
