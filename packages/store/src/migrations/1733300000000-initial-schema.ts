import { Table, TableIndex } from 'typeorm';
import type { MigrationInterface, QueryRunner, TableColumnOptions } from 'typeorm';

/*
 * Written with the Table API rather than SQL so one migration runs on SQLite and PostgreSQL.
 * It must stay in step with the entities: the store tests diff the two after migrating.
 * Released migrations are never edited; schema changes get a new migration.
 */

const id = (name: string, isNullable = false): TableColumnOptions => ({
  name,
  type: 'varchar',
  isNullable,
});
const time = (name: string, isNullable = false): TableColumnOptions => ({
  name,
  type: 'varchar',
  length: '32',
  isNullable,
});
const tag = (name: string, isNullable = false): TableColumnOptions => ({
  name,
  type: 'varchar',
  length: '32',
  isNullable,
});

export class InitialSchema1733300000000 implements MigrationInterface {
  readonly name = 'InitialSchema1733300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'sessions',
        columns: [
          { ...id('session_id'), isPrimary: true },
          { name: 'title', type: 'text' },
          { name: 'cwd', type: 'text' },
          time('created_at'),
        ],
      }),
    );
    await queryRunner.createIndex(
      'sessions',
      new TableIndex({ name: 'idx_sessions_created_at', columnNames: ['created_at'] }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'runs',
        columns: [
          { ...id('run_id'), isPrimary: true },
          id('session_id'),
          id('instance_id'),
          time('started_at'),
          time('ended_at', true),
          tag('end_reason', true),
          { name: 'exit_statuses', type: 'text', isNullable: true },
        ],
        foreignKeys: [
          {
            name: 'fk_runs_session',
            columnNames: ['session_id'],
            referencedTableName: 'sessions',
            referencedColumnNames: ['session_id'],
            onDelete: 'CASCADE',
          },
        ],
      }),
    );
    await queryRunner.createIndex(
      'runs',
      new TableIndex({ name: 'idx_runs_session_id', columnNames: ['session_id'] }),
    );
    await queryRunner.createIndex(
      'runs',
      new TableIndex({ name: 'idx_runs_ended_at', columnNames: ['ended_at'] }),
    );
    await queryRunner.createIndex(
      'runs',
      new TableIndex({
        name: 'idx_runs_instance_ended',
        columnNames: ['instance_id', 'ended_at'],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'turns',
        columns: [
          { ...id('turn_id'), isPrimary: true },
          id('session_id'),
          id('run_id'),
          { name: 'text', type: 'text' },
          { name: 'output', type: 'text' },
          { name: 'exit_code', type: 'integer', isNullable: true },
          { name: 'signal', type: 'varchar', length: '32', isNullable: true },
          time('started_at'),
          time('ended_at', true),
        ],
        foreignKeys: [
          {
            name: 'fk_turns_session',
            columnNames: ['session_id'],
            referencedTableName: 'sessions',
            referencedColumnNames: ['session_id'],
            onDelete: 'CASCADE',
          },
          {
            name: 'fk_turns_run',
            columnNames: ['run_id'],
            referencedTableName: 'runs',
            referencedColumnNames: ['run_id'],
            onDelete: 'CASCADE',
          },
        ],
      }),
    );
    await queryRunner.createIndex(
      'turns',
      new TableIndex({
        name: 'idx_turns_session_started',
        columnNames: ['session_id', 'started_at'],
      }),
    );
    await queryRunner.createIndex(
      'turns',
      new TableIndex({ name: 'idx_turns_run_id', columnNames: ['run_id'] }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'processes',
        columns: [
          {
            name: 'id',
            type: 'integer',
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'increment',
          },
          { name: 'pid', type: 'integer' },
          { name: 'start_time', type: 'bigint' },
          tag('kind'),
          id('session_id', true),
          id('run_id', true),
          id('instance_id'),
        ],
      }),
    );
    await queryRunner.createIndex(
      'processes',
      new TableIndex({
        name: 'uq_processes_identity',
        columnNames: ['instance_id', 'pid', 'start_time'],
        isUnique: true,
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('processes');
    await queryRunner.dropTable('turns');
    await queryRunner.dropTable('runs');
    await queryRunner.dropTable('sessions');
  }
}
