import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

/** A random secret, 32 bytes, base64url. */
export const newSecret = (): string => randomBytes(32).toString('base64url')

/**
 * Hash of a generated secret. Secrets here are 256-bit random values, not
 * human passwords, so a fast hash is enough to make a leaked table useless and
 * keeps MQTT connects and API calls cheap.
 */
export const hashSecret = (secret: string): string => createHash('sha256').update(secret).digest('hex')

export const sameHash = (a: string, b: string): boolean => {
  const x = Buffer.from(a, 'hex')
  const y = Buffer.from(b, 'hex')
  return x.length === y.length && timingSafeEqual(x, y)
}
