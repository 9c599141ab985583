import type { Logger } from 'pino'
import type { Db } from './types.ts'

export interface Migration {
  id: number
  name: string
  /** Statements; `timescale` tells whether the extension is loaded. */
  sql: (caps: { timescale: boolean }) => string
  /** Some TimescaleDB statements (continuous aggregates) refuse to run in a transaction. */
  transactional?: boolean
}

export const MIGRATIONS: Migration[] = [
  {
    id: 1,
    name: 'registry, readings, alerts and tasks',
    sql: ({ timescale }) => `
CREATE TABLE addresses (
  code text PRIMARY KEY,
  parent text REFERENCES addresses(code),
  level text NOT NULL,
  name text NOT NULL,
  lat double precision,
  lon double precision,
  path text[] NOT NULL,
  grid text,
  street text,
  imported_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX addresses_parent ON addresses (parent);
CREATE INDEX addresses_grid ON addresses (grid);

CREATE TABLE grid_areas (
  code text PRIMARY KEY REFERENCES addresses(code),
  geometry jsonb NOT NULL,
  bbox double precision[] NOT NULL
);

CREATE TABLE admin_tokens (
  token_hash text PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE workers (
  id text PRIMARY KEY,
  name text NOT NULL,
  phone text,
  role text NOT NULL,
  scopes text[] NOT NULL,
  token_hash text NOT NULL UNIQUE,
  on_duty boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE subjects (
  id text PRIMARY KEY,
  kind text NOT NULL,
  address text NOT NULL REFERENCES addresses(code),
  name text,
  phone text,
  details jsonb NOT NULL DEFAULT '{}',
  away_until timestamptz,
  sensitivity double precision NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE devices (
  id text PRIMARY KEY,
  kind text NOT NULL,
  address text REFERENCES addresses(code),
  subject text REFERENCES subjects(id),
  street text NOT NULL,
  username text NOT NULL UNIQUE,
  password_hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX devices_subject ON devices (subject);

CREATE TABLE readings (
  device_id text NOT NULL,
  ts timestamptz NOT NULL,
  register double precision NOT NULL,
  amount double precision,
  interval_ms bigint,
  power_w double precision,
  reset boolean NOT NULL DEFAULT false,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (device_id, ts)
);
${timescale ? "SELECT create_hypertable('readings', by_range('ts', INTERVAL '7 days'));" : ''}

CREATE TABLE device_events (
  device_id text NOT NULL,
  ts timestamptz NOT NULL,
  channel text NOT NULL,
  body jsonb NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (device_id, ts, channel)
);
${timescale ? "SELECT create_hypertable('device_events', by_range('ts', INTERVAL '7 days'));" : ''}

CREATE TABLE dead_letters (
  id bigserial PRIMARY KEY,
  received_at timestamptz NOT NULL DEFAULT now(),
  source text NOT NULL,
  topic text,
  device_id text,
  code text NOT NULL,
  reason text NOT NULL,
  payload text NOT NULL
);

CREATE TABLE alerts (
  id text PRIMARY KEY,
  source text NOT NULL,
  subject text REFERENCES subjects(id),
  address text NOT NULL REFERENCES addresses(code),
  grid text,
  path text[] NOT NULL,
  kind text NOT NULL,
  detector text,
  severity text NOT NULL,
  status text NOT NULL,
  started_at timestamptz NOT NULL,
  raised_at timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL,
  cleared_at timestamptz,
  evidence jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX alerts_one_open_episode ON alerts (subject, kind) WHERE status = 'open';
CREATE INDEX alerts_grid ON alerts (grid, status);

CREATE TABLE tasks (
  id text PRIMARY KEY,
  alert_id text NOT NULL REFERENCES alerts(id),
  subject text REFERENCES subjects(id),
  address text NOT NULL,
  grid text,
  path text[] NOT NULL,
  worker_id text REFERENCES workers(id),
  severity text NOT NULL,
  state text NOT NULL,
  outcome text,
  note text,
  away_until timestamptz,
  ack_due timestamptz,
  arrive_due timestamptz,
  escalation_level integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tasks_worker ON tasks (worker_id, state);
CREATE INDEX tasks_due ON tasks (state, ack_due);

CREATE TABLE task_history (
  id bigserial PRIMARY KEY,
  task_id text NOT NULL REFERENCES tasks(id),
  at timestamptz NOT NULL DEFAULT now(),
  actor text NOT NULL,
  action text NOT NULL,
  from_state text,
  to_state text,
  note text,
  data jsonb
);
CREATE INDEX task_history_task ON task_history (task_id, id);

CREATE TABLE audit_log (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  actor text NOT NULL,
  action text NOT NULL,
  target text NOT NULL
);

CREATE TABLE detector_state (
  subject text NOT NULL,
  detector text NOT NULL,
  state jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (subject, detector)
);
`,
  },
  {
    id: 2,
    name: 'hourly and daily energy per device; compression settings',
    // Continuous aggregates refuse to be created inside a transaction.
    transactional: false,
    sql: ({ timescale }) => timescale
      ? `
CREATE MATERIALIZED VIEW energy_hourly WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT device_id, time_bucket('1 hour', ts) AS bucket, sum(amount) AS amount, count(*) AS readings
  FROM readings GROUP BY device_id, time_bucket('1 hour', ts) WITH NO DATA;
CREATE MATERIALIZED VIEW energy_daily WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT device_id, time_bucket('1 day', bucket) AS bucket, sum(amount) AS amount, sum(readings) AS readings
  FROM energy_hourly GROUP BY device_id, time_bucket('1 day', bucket) WITH NO DATA;
SELECT add_continuous_aggregate_policy('energy_hourly', start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '30 minutes');
SELECT add_continuous_aggregate_policy('energy_daily', start_offset => INTERVAL '7 days', end_offset => INTERVAL '1 day', schedule_interval => INTERVAL '1 hour');
ALTER TABLE readings SET (timescaledb.compress, timescaledb.compress_segmentby = 'device_id', timescaledb.compress_orderby = 'ts');
`
      : `
CREATE VIEW energy_hourly AS
  SELECT device_id, date_trunc('hour', ts) AS bucket, sum(amount) AS amount, count(*) AS readings
  FROM readings GROUP BY device_id, date_trunc('hour', ts);
CREATE VIEW energy_daily AS
  SELECT device_id, date_trunc('day', ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket, sum(amount) AS amount, count(*) AS readings
  FROM readings GROUP BY device_id, date_trunc('day', ts AT TIME ZONE 'UTC');
`,
  },
  {
    id: 3,
    name: 'absences declared ahead',
    sql: () => `
CREATE TABLE absences (
  id text PRIMARY KEY,
  subject text NOT NULL REFERENCES subjects(id),
  starts_at timestamptz NOT NULL,
  ends_at timestamptz NOT NULL CHECK (ends_at > starts_at),
  note text,
  declared_by text NOT NULL,
  declared_at timestamptz NOT NULL DEFAULT now(),
  cancelled_at timestamptz
);
CREATE INDEX absences_subject ON absences (subject, ends_at);
`,
  },
  {
    id: 4,
    name: 'closed loop: contacts and check-ins, stage deadlines and escalation, rosters, case work',
    sql: () => `
ALTER TABLE subjects ADD COLUMN contacts jsonb NOT NULL DEFAULT '[]';
ALTER TABLE alerts ADD COLUMN confidence text;
ALTER TABLE alerts ADD COLUMN stage text NOT NULL DEFAULT 'task';
ALTER TABLE alerts ADD COLUMN outcome text;
ALTER TABLE alerts ADD COLUMN reopened integer NOT NULL DEFAULT 0;
CREATE INDEX alerts_recent_episode ON alerts (subject, kind, cleared_at);
ALTER TABLE tasks ADD COLUMN resolve_due timestamptz;
ALTER TABLE tasks ADD COLUMN review_due timestamptz;
ALTER TABLE tasks ADD COLUMN reminded text[] NOT NULL DEFAULT '{}';
ALTER TABLE tasks ADD COLUMN escalated_to text;
ALTER TABLE tasks ADD COLUMN satisfaction integer;
ALTER TABLE tasks ADD COLUMN closed_at timestamptz;
CREATE TABLE checkins (
  id text PRIMARY KEY,
  alert_id text NOT NULL REFERENCES alerts(id),
  subject text NOT NULL REFERENCES subjects(id),
  contact jsonb NOT NULL,
  position integer NOT NULL DEFAULT 0,
  secret_hash text NOT NULL,
  sent_at timestamptz NOT NULL,
  due_at timestamptz NOT NULL,
  answered_at timestamptz,
  answer text,
  state text NOT NULL DEFAULT 'pending'
);
CREATE INDEX checkins_alert ON checkins (alert_id);
CREATE INDEX checkins_due ON checkins (state, due_at);
CREATE TABLE deadline_policies (
  severity text NOT NULL,
  category text NOT NULL,
  ack_min integer NOT NULL,
  arrive_min integer NOT NULL,
  resolve_min integer NOT NULL,
  review_min integer NOT NULL,
  remind_min integer NOT NULL,
  updated_by text NOT NULL DEFAULT 'system',
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (severity, category)
);
INSERT INTO deadline_policies (severity, category, ack_min, arrive_min, resolve_min, review_min, remind_min) VALUES
  ('critical', '*', 10, 30, 240, 1440, 3),
  ('high', '*', 30, 120, 480, 2880, 10),
  ('medium', '*', 120, 480, 1440, 4320, 30),
  ('low', '*', 480, 1440, 4320, 10080, 60);
CREATE TABLE roster_shifts (
  id bigserial PRIMARY KEY,
  grid text NOT NULL REFERENCES addresses(code),
  worker_id text NOT NULL REFERENCES workers(id),
  weekday integer NOT NULL CHECK (weekday BETWEEN 0 AND 6),
  starts_min integer NOT NULL CHECK (starts_min BETWEEN 0 AND 1440),
  ends_min integer NOT NULL CHECK (ends_min BETWEEN 0 AND 1440)
);
CREATE INDEX roster_shifts_grid ON roster_shifts (grid, weekday);
CREATE TABLE roster_exceptions (
  id bigserial PRIMARY KEY,
  grid text NOT NULL REFERENCES addresses(code),
  worker_id text NOT NULL REFERENCES workers(id),
  day date NOT NULL,
  on_duty boolean NOT NULL,
  starts_min integer,
  ends_min integer,
  note text
);
CREATE INDEX roster_exceptions_grid ON roster_exceptions (grid, day);
CREATE TABLE grid_roles (
  grid text NOT NULL REFERENCES addresses(code),
  worker_id text NOT NULL REFERENCES workers(id),
  role text NOT NULL,
  position integer NOT NULL DEFAULT 0,
  PRIMARY KEY (grid, worker_id, role)
);
CREATE TABLE task_photos (
  id text PRIMARY KEY,
  task_id text NOT NULL REFERENCES tasks(id),
  at timestamptz NOT NULL,
  actor text NOT NULL,
  mime text NOT NULL,
  size integer NOT NULL,
  bytes bytea NOT NULL
);
CREATE INDEX task_photos_task ON task_photos (task_id);
`,
  },
  {
    id: 5,
    name: 'webhooks with a delivery outbox; stored reports; the safety index',
    sql: () => `
CREATE TABLE webhooks (
  id text PRIMARY KEY,
  url text NOT NULL,
  secret text NOT NULL,
  events text[] NOT NULL,
  scopes text[],
  owner text NOT NULL,
  created_at timestamptz NOT NULL,
  deleted_at timestamptz
);
CREATE TABLE webhook_deliveries (
  id text PRIMARY KEY,
  webhook_id text NOT NULL REFERENCES webhooks(id),
  event text NOT NULL,
  body text NOT NULL,
  created_at timestamptz NOT NULL,
  state text NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz,
  delivered_at timestamptz
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (webhook_id, created_at);
CREATE TABLE webhook_attempts (
  id bigserial PRIMARY KEY,
  delivery_id text NOT NULL REFERENCES webhook_deliveries(id),
  at timestamptz NOT NULL,
  status integer,
  error text,
  next_retry_at timestamptz
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);
CREATE TABLE periodic_reports (
  id text PRIMARY KEY,
  period text NOT NULL,
  start_date text NOT NULL,
  scope text NOT NULL REFERENCES addresses(code),
  made_at timestamptz NOT NULL,
  report jsonb NOT NULL,
  UNIQUE (period, start_date, scope)
);
CREATE TABLE index_settings (
  id integer PRIMARY KEY CHECK (id = 1),
  weights jsonb NOT NULL,
  thresholds jsonb NOT NULL,
  updated_by text NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE TABLE safety_index (
  grid text NOT NULL REFERENCES addresses(code),
  month text NOT NULL,
  colour text NOT NULL,
  score double precision NOT NULL,
  figures jsonb NOT NULL,
  weights jsonb NOT NULL,
  computed_at timestamptz NOT NULL,
  PRIMARY KEY (grid, month)
);
`,
  },
  {
    id: 6,
    name: 'dead letters keep an excerpt with the payload size and sha256',
    sql: () => `
ALTER TABLE dead_letters ADD COLUMN payload_bytes integer;
ALTER TABLE dead_letters ADD COLUMN payload_sha256 text;
CREATE INDEX dead_letters_device ON dead_letters (device_id, id);
`,
  },
  {
    id: 7,
    name: 'workers, subjects and devices can be removed (kept for their history); audit by target',
    sql: () => `
ALTER TABLE workers ADD COLUMN removed_at timestamptz;
ALTER TABLE subjects ADD COLUMN removed_at timestamptz;
ALTER TABLE devices ADD COLUMN removed_at timestamptz;
CREATE INDEX audit_log_target ON audit_log (target, at);
`,
  },
  {
    id: 8,
    name: 'several workers on one database: one alert per detector episode, one task per alert, worker presence',
    // With workers on RabbitMQ partitions a street moves between workers; a handover in
    // flight must not raise an episode twice (open episodes are unique since migration 1).
    sql: () => `
CREATE UNIQUE INDEX alerts_one_per_episode ON alerts (subject, kind, started_at) WHERE source = 'detector';
CREATE UNIQUE INDEX tasks_one_per_alert ON tasks (alert_id);
CREATE TABLE scale_workers (
  id text PRIMARY KEY,
  seen_at timestamptz NOT NULL
);
`,
  },
  {
    id: 9,
    name: 'drone fleet: last position, battery and the lost-link deadline per drone',
    sql: () => `
CREATE TABLE drones (
  device_id text PRIMARY KEY REFERENCES devices(id),
  street text NOT NULL,
  ts timestamptz NOT NULL,
  lat double precision NOT NULL,
  lon double precision NOT NULL,
  alt double precision,
  battery double precision,
  seen_at timestamptz NOT NULL,
  link_due timestamptz,
  link_lost_at timestamptz,
  low_battery_at timestamptz
);
CREATE INDEX drones_link_due ON drones (link_due) WHERE link_due IS NOT NULL AND link_lost_at IS NULL;
`,
  },
  {
    id: 13,
    name: 'scale-out: checkpoints of a partition\'s detector state with the last sample time per device',
    // A partition that moves restores these and replays only the readings after fed's times
    // (scale/checkpoint.ts); fed_max orders checkpoints, so an older one never replaces a newer.
    sql: () => `
CREATE TABLE partition_checkpoints (
  subject text PRIMARY KEY,
  state jsonb NOT NULL,
  fed jsonb NOT NULL,
  fed_max timestamptz,
  saved_at timestamptz NOT NULL DEFAULT now()
);
`,
  },
  {
    id: 14,
    name: 'the deadline sweep reads only the tasks whose current deadline is near, not every task ever made',
    // The same expression as CURRENT_DUE in alerts/escalation.ts, so the planner can match it.
    sql: () => `
CREATE INDEX tasks_current_due ON tasks ((CASE state WHEN 'open' THEN ack_due WHEN 'acknowledged' THEN arrive_due WHEN 'on_site' THEN resolve_due WHEN 'resolved' THEN review_due END));
`,
  },
  {
    id: 15,
    name: 'readings: a BRIN index on ts in place of the hypertable\'s default btree',
    // Every query of one device's readings takes the primary key (device_id, ts). Only the
    // continuous aggregates' refresh and real-time part read a span of ts across all devices:
    // without an index on ts that is a scan of the whole chunk's key (ten times the pages, and
    // more as the chunk fills). A BRIN on ts serves them as the btree did (readings arrive in
    // time order) and costs a fraction per row written: the btree was a fifth of the embedded
    // store's time per row. Ranges are summarized by autovacuum on a server and by gridcare's
    // maintenance on the embedded store (store/maintenance.ts). Plain PostgreSQL had no ts index.
    sql: ({ timescale }) => timescale
      ? `
DROP INDEX IF EXISTS readings_ts_idx;
CREATE INDEX IF NOT EXISTS readings_ts_brin ON readings USING brin (ts) WITH (autosummarize = on);
`
      : '',
  },
  {
    id: 16,
    name: 'detector snapshots kept as JSON text, not jsonb',
    // Written every 10 minutes for every subject and detector and read back only whole, by
    // gridcare (JSON.parse): jsonb's parse on the way in was most of the snapshot's time on the
    // store (80,000 states of ~600 bytes: 4.3-4.5 s as jsonb, 1.7-2.0 s as text, 2026-12-02).
    sql: () => `
ALTER TABLE detector_state ALTER COLUMN state TYPE text USING state::text;
`,
  },
]

/** Applies the migrations not yet applied, in order, each in its own transaction where allowed. */
export async function migrate (db: Db, logger: Logger, migrations: Migration[] = MIGRATIONS): Promise<number[]> {
  await db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`)
  const { rows } = await db.query<{ id: number }>('SELECT id FROM schema_migrations')
  const done = new Set(rows.map((r) => Number(r.id)))
  const applied: number[] = []
  for (const m of [...migrations].sort((a, b) => a.id - b.id)) {
    if (done.has(m.id)) continue
    const sql = m.sql({ timescale: db.timescale })
    if (m.transactional === false) {
      await db.exec(sql)
      await db.query('INSERT INTO schema_migrations (id, name) VALUES ($1, $2)', [m.id, m.name])
    } else {
      await db.transaction(async (tx) => {
        for (const stmt of splitStatements(sql)) await tx.query(stmt)
        await tx.query('INSERT INTO schema_migrations (id, name) VALUES ($1, $2)', [m.id, m.name])
      })
    }
    logger.info({ migration: m.id, name: m.name }, 'migration applied')
    applied.push(m.id)
  }
  return applied
}

/** Splits on `;` at line ends; migrations keep one statement per `;\n`. */
function splitStatements (sql: string): string[] {
  return sql.split(/;\s*\n/).map((s) => s.trim()).filter((s) => s.length > 0)
}
