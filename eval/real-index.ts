/** The real-homes evaluation's public parts (eval/real.ts and its helpers). */
export { runRealEvaluation, formatReal, DEFAULT_DATA_DIR, type RealOptions, type RealRow, type RealEvaluation } from './real.ts'
export { loadHomes, parseTsKwh, unusableDays, SOURCES, type RealHome, type Source } from './real-data.ts'
export { chooseInjections, injected, standingLoad, type Injection, type InjectOptions } from './real-inject.ts'
export { runSeries, type SeriesRun, type SeriesRunOptions } from './real-run.ts'
