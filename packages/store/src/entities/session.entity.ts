import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { primaryIdColumn, timeColumn } from './columns.js';

/** A stored session: its identity outlives every gateway that runs it. */
@Entity({ name: 'sessions' })
@Index('idx_sessions_created_at', ['createdAt'])
export class SessionEntity {
  @PrimaryColumn(primaryIdColumn('session_id'))
  sessionId!: string;

  @Column({ name: 'title', type: 'text' })
  title!: string;

  @Column({ name: 'cwd', type: 'text' })
  cwd!: string;

  @Column(timeColumn('created_at'))
  createdAt!: string;
}
