import { createHash } from 'node:crypto'
import type { MqttIdentity } from '../registry/index.ts'

/** The broker's limits; defaults in DEFAULT_LIMITS. */
export interface BrokerLimits {
  /** Largest MQTT packet accepted, bytes, checked on the fixed header before the body is buffered; default 1 MiB. */
  maxPacketBytes: number
  /** Refused publishes a device may make in a minute before it is disconnected; default 30. */
  refusalsPerMinute: number
  /** How long a device over that rate waits at its next CONNECT, ms; default 10000. */
  penaltyMs: number
  /** Verified credentials kept to let known devices in while the store is down; default 50000. */
  credentialCache: number
  /** How long a CONNECT is held while the store cannot verify an unknown client, ms; default 20000. */
  holdConnectMs: number
}

export const DEFAULT_LIMITS: BrokerLimits = {
  maxPacketBytes: 1024 * 1024,
  refusalsPerMinute: 30,
  penaltyMs: 10_000,
  credentialCache: 50_000,
  holdConnectMs: 20_000,
}

/** Who may connect as what: a cache of verified credentials and the owner of each client id. */
export function createGuard (limits: BrokerLimits, now: () => number = Date.now) {
  // One entry per username: the hash of the password last verified for it. A rotated or
  // removed identity is forgotten by name (revoke), whatever password it last used.
  const verified = new Map<string, { pass: string, id: MqttIdentity }>()
  const owners = new Map<string, string>()
  const refusals = new Map<string, { windowStart: number, inWindow: number, total: number, penaltyUntil: number }>()
  let revocations = 0
  const passHash = (username: string, password: string) => createHash('sha256').update(username).update('\0').update(password).digest('hex')
  const bounded = <K, V>(m: Map<K, V>, k: K, v: V, max: number) => {
    m.delete(k)
    m.set(k, v)
    if (m.size > max) m.delete(m.keys().next().value as K)
  }
  return {
    /**
     * Counts revocations: a check of credentials that began before a revocation may have read
     * the old password, so its answer is neither cached nor trusted (see broker authenticate).
     */
    get revocations () { return revocations },
    remember (username: string, password: string, id: MqttIdentity) { bounded(verified, username, { pass: passHash(username, password), id }, limits.credentialCache) },
    /** Forgets a username's cached credentials: its password was rotated or it was removed. */
    revoke (username: string) { revocations++; verified.delete(username) },
    forget (username: string, password: string) { if (verified.get(username)?.pass === passHash(username, password)) verified.delete(username) },
    /** The identity these exact credentials were last verified as, for when the store cannot answer. */
    cached (username: string, password: string): MqttIdentity | undefined {
      const hit = verified.get(username)
      return hit && hit.pass === passHash(username, password) ? hit.id : undefined
    },
    /**
     * A client id belongs to the device (or worker) of that id, else to the
     * identity that used it first since start: another identity using it would
     * take over that session and cut its owner off.
     */
    claim (clientId: string, username: string, ownId: string): boolean {
      const owner = owners.get(clientId)
      if (clientId !== ownId && owner !== undefined && owner !== username) return false
      bounded(owners, clientId, username, limits.credentialCache)
      return true
    },
    /** Counts a refused publish; true when the device has gone over its rate and is to be disconnected. */
    refused (identity: string): boolean {
      const t = now()
      let r = refusals.get(identity)
      if (!r) { r = { windowStart: t, inWindow: 0, total: 0, penaltyUntil: 0 }; bounded(refusals, identity, r, limits.credentialCache) }
      if (t - r.windowStart >= 60_000) { r.windowStart = t; r.inWindow = 0 }
      r.inWindow++
      r.total++
      if (r.inWindow > limits.refusalsPerMinute) { r.penaltyUntil = t + limits.penaltyMs; return true }
      return false
    },
    /** Ms this identity still has to wait before it is let in again; 0 when none. */
    penalty (identity: string): number { return Math.max(0, (refusals.get(identity)?.penaltyUntil ?? 0) - now()) },
    /** Refused publishes per identity since start. */
    refusalCounts (): Record<string, number> { return Object.fromEntries([...refusals].map(([k, v]) => [k, v.total])) },
  }
}

export type Guard = ReturnType<typeof createGuard>
