/** Simulated smart meters: a deterministic household model and an MQTT publisher for demos and tests. */
export type { GroundTruth, MeterFault, MeterProfile, Reading, Scenario } from './types.ts'
export type { MeterModel } from './meters.ts'
export { createMeterModel, generateReadings, labelAt } from './meters.ts'
export { meanStandbyW, traitsFor } from './household.ts'
export type { SimClock, SimClockOptions } from './clock.ts'
export { createSimClock } from './clock.ts'
export type { MeterPublisher, MeterPublisherOptions, SimDevice, Timers } from './publisher.ts'
export { createMeterPublisher } from './publisher.ts'
