/**
 * One registry of subject ids for the detectors of a set, instead of a Map from id to state in each.
 *
 * A Map entry costs 29 bytes at best (a table just full) and about 56 just after it grew, per
 * map; a subject of the set was in five (inactivity, night load, meter health's subjects,
 * fusion's electricity starts, and the index of devices). Now the index holds the subject once
 * (id to a dense number) and each detector keeps its states in an array by that number
 * (SubjectMap: 8 bytes a slot) or a typed column (SubjectColumn). Ids are never forgotten: a
 * subject dropped by every detector keeps its number (a few bytes).
 */
export class SubjectIndex {
  private readonly at = new Map<string, number>()
  // The last id looked up: the detectors of a set ask about one sample's subject in turn.
  private lastId: string | undefined = undefined
  private lastAt = -1

  /** The subject's number; -1 when never added. */
  find (id: string): number {
    if (id === this.lastId) return this.lastAt
    const i = this.at.get(id)
    if (i === undefined) return -1
    this.lastId = id; this.lastAt = i
    return i
  }

  /** The subject's number, a new one when never added. */
  add (id: string): number {
    let i = this.find(id)
    if (i >= 0) return i
    i = this.at.size
    this.at.set(id, i)
    this.lastId = id; this.lastAt = i
    return i
  }

  /** Every subject and its number, in the order they were added. */
  entries (): IterableIterator<[string, number]> { return this.at.entries() }
}

/** A detector's states by subject: the part of Map it uses, over a SubjectIndex shared with the set's other detectors. */
export class SubjectMap<T> {
  private readonly v: (T | undefined)[] = []
  constructor (readonly index: SubjectIndex) {}

  get (id: string): T | undefined {
    const i = this.index.find(id)
    return i < 0 ? undefined : this.v[i]
  }

  set (id: string, x: T): this {
    const i = this.index.add(id), v = this.v
    while (v.length < i) v.push(undefined)
    v[i] = x
    return this
  }

  has (id: string): boolean { return this.get(id) !== undefined }

  delete (id: string): boolean {
    const i = this.index.find(id)
    if (i < 0 || this.v[i] === undefined) return false
    this.v[i] = undefined
    return true
  }

  /** The subjects with a state, in the order the index took them. */
  * keys (): IterableIterator<string> {
    for (const [id, i] of this.index.entries()) if (this.v[i] !== undefined) yield id
  }
}

/** A number per subject (NaN: none), in a Float64Array grown by doubling: 8 bytes a subject, no box per number. */
export class SubjectColumn {
  private v = new Float64Array(1024).fill(Number.NaN)
  constructor (readonly index: SubjectIndex) {}

  /** The subject's number; undefined when it has none. */
  get (id: string): number | undefined {
    const i = this.index.find(id)
    if (i < 0 || i >= this.v.length) return undefined
    const x = this.v[i]!
    return Number.isNaN(x) ? undefined : x
  }

  has (id: string): boolean {
    const i = this.index.find(id)
    return i >= 0 && i < this.v.length && !Number.isNaN(this.v[i]!)
  }

  /** Sets the subject's number (not NaN). */
  set (id: string, x: number): this {
    const i = this.index.add(id)
    if (i >= this.v.length) {
      const more = new Float64Array(Math.max(2 * this.v.length, i + 1)).fill(Number.NaN)
      more.set(this.v); this.v = more
    }
    this.v[i] = x
    return this
  }

  delete (id: string): boolean {
    const i = this.index.find(id)
    if (i < 0 || i >= this.v.length || Number.isNaN(this.v[i]!)) return false
    this.v[i] = Number.NaN
    return true
  }

  * keys (): IterableIterator<string> {
    for (const [id, i] of this.index.entries()) if (i < this.v.length && !Number.isNaN(this.v[i]!)) yield id
  }
}

/**
 * A place per subject (slab.ts loc; -1 none), in an Int32Array grown by doubling: 4 to 8 bytes a
 * subject, where a SubjectMap slot and the object it points to cost 8 and 40-80.
 */
export class SubjectPlaces {
  private v = new Int32Array(1024).fill(-1)
  constructor (readonly index: SubjectIndex) {}

  /** The place of subject number i (SubjectIndex.find(); -1 none). */
  at (i: number): number { return i < 0 || i >= this.v.length ? -1 : this.v[i]! }

  /** The subject's place; -1 none. */
  get (id: string): number { return this.at(this.index.find(id)) }

  /** Sets the place of subject number i. */
  put (i: number, loc: number) {
    if (i >= this.v.length) {
      const more = new Int32Array(Math.max(2 * this.v.length, i + 1)).fill(-1)
      more.set(this.v); this.v = more
    }
    this.v[i] = loc
  }

  /** The subjects with a place, in the order the index took them. */
  * keys (): IterableIterator<string> {
    for (const [id, i] of this.index.entries()) if (i < this.v.length && this.v[i]! >= 0) yield id
  }
}
