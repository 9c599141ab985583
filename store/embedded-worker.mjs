// The store thread's entry: Node 20 does not pass --import loaders (tsx) on to worker
// threads (nodejs/node#47747), so the thread registers tsx itself, then loads the TypeScript.
import { register } from 'tsx/esm/api'

register()
await import('./embedded-worker.ts')
