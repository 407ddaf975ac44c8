import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { idColumn, primaryIdColumn, tagColumn, timeColumn } from './columns.js';
import { SessionEntity } from './session.entity.js';

/** One stretch of a session being live in one gateway instance. */
@Entity({ name: 'runs' })
@Index('idx_runs_session_id', ['sessionId'])
@Index('idx_runs_ended_at', ['endedAt'])
@Index('idx_runs_instance_ended', ['instanceId', 'endedAt'])
export class RunEntity {
  @PrimaryColumn(primaryIdColumn('run_id'))
  runId!: string;

  @Column(idColumn('session_id'))
  sessionId!: string;

  // Declared only so the foreign key is part of the entity model (and so of schema diffs).
  @ManyToOne(() => SessionEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({
    name: 'session_id',
    referencedColumnName: 'sessionId',
    foreignKeyConstraintName: 'fk_runs_session',
  })
  session?: SessionEntity;

  @Column(idColumn('instance_id'))
  instanceId!: string;

  @Column(timeColumn('started_at'))
  startedAt!: string;

  @Column(timeColumn('ended_at', true))
  endedAt!: string | null;

  @Column(tagColumn('end_reason', true))
  endReason!: string | null;

  /** JSON text rather than a json type: SQLite has none and the store never queries into it. */
  @Column({ name: 'exit_statuses', type: 'text', nullable: true })
  exitStatuses!: string | null;
}
