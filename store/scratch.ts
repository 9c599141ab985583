import pg from 'pg'

/**
 * A fresh, empty database on a PostgreSQL server, named `<prefix>_<pid>_<random>`; drop()
 * removes it. For tests, benches and the failover proof, which each need one of their own.
 */
export async function createScratchDatabase (adminUrl: string, prefix: string): Promise<{ url: string, drop: () => Promise<void> }> {
  const name = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl })
      await c.connect()
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await c.end()
    },
  }
}
