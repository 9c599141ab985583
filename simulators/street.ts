/**
 * A small demo street for seeding: one street, two communities, four grids,
 * buildings of six flats, lone elders and rental flats, and their workers.
 */
export interface StreetPlan {
  csv: string
  workers: Array<{ id: string, name: string, phone: string, role: 'grid_worker' | 'grid_leader' | 'command_centre', grids: string[] }>
  homes: Array<{ subject: string, kind: 'lone_elder' | 'rental_unit', unit: string, name: string, seed: number }>
}

const SURNAMES = ['Wang', 'Li', 'Zhang', 'Liu', 'Chen', 'Yang', 'Zhao', 'Huang', 'Zhou', 'Wu', 'Xu', 'Sun', 'Hu', 'Zhu', 'Gao', 'Lin']
const GIVEN = ['Fang', 'Min', 'Jing', 'Lei', 'Qiang', 'Yan', 'Hua', 'Ping', 'Jun', 'Xia', 'Hong', 'Gang']

export function demoStreet (): StreetPlan {
  const lines = ['code,parent,level,name,lat,lon', 'XH,,district,Xihu District,30.259,120.130', 'XH-LY,XH,street,Lingyin Street,30.242,120.101']
  const workers: StreetPlan['workers'] = [{ id: 'centre', name: 'Lingyin command centre', phone: '0571-0000', role: 'command_centre', grids: ['XH-LY'] }]
  const homes: StreetPlan['homes'] = []
  let seed = 1
  for (const [ci, community] of ['Maple', 'Tea Garden'].entries()) {
    const c = `XH-LY-C${ci + 1}`
    lines.push(`${c},XH-LY,community,${community} Community,${30.24 + ci * 0.004},${120.10 + ci * 0.004}`)
    workers.push({ id: `leader-c${ci + 1}`, name: `${SURNAMES[ci + 6]} ${GIVEN[ci + 3]}`, phone: `1390000000${ci}`, role: 'grid_leader', grids: [c] })
    for (let g = 1; g <= 2; g++) {
      const grid = `${c}-G${g}`
      lines.push(`${grid},${c},grid,${community} grid ${g},,`)
      workers.push({ id: `worker-c${ci + 1}g${g}`, name: `${SURNAMES[ci * 2 + g]} ${GIVEN[ci * 2 + g]}`, phone: `1380000${ci}${g}00`, role: 'grid_worker', grids: [grid] })
      for (let b = 1; b <= 2; b++) {
        const building = `${grid}-B${b}`
        lines.push(`${building},${grid},building,Building ${g}${b},${30.24 + ci * 0.004 + g * 0.001},${120.10 + ci * 0.004 + b * 0.001}`)
        for (let u = 1; u <= 6; u++) {
          const unit = `${building}-${Math.ceil(u / 2)}0${2 - (u % 2)}`
          lines.push(`${unit},${building},unit,Flat ${Math.ceil(u / 2)}0${2 - (u % 2)},,`)
          const rental = u === 6
          homes.push({
            subject: `${rental ? 'flat' : 'elder'}-${ci + 1}${g}${b}${u}`, kind: rental ? 'rental_unit' : 'lone_elder', unit,
            name: rental ? `Rental ${unit}` : `${SURNAMES[seed % SURNAMES.length]} ${GIVEN[(seed * 7) % GIVEN.length]}`, seed: seed++,
          })
        }
      }
    }
  }
  return { csv: lines.join('\n') + '\n', workers, homes }
}

/** The demo grids' areas as GeoJSON: a box around each grid's two buildings, matching demoStreet(). */
export function demoGridAreas () {
  const features = []
  for (const ci of [0, 1]) {
    for (const g of [1, 2]) {
      const lat = 30.24 + ci * 0.004 + g * 0.001
      const lon = 120.10 + ci * 0.004
      const ring = [[lon + 0.0005, lat - 0.0005], [lon + 0.0025, lat - 0.0005], [lon + 0.0025, lat + 0.0005], [lon + 0.0005, lat + 0.0005], [lon + 0.0005, lat - 0.0005]]
      features.push({ type: 'Feature', properties: { code: `XH-LY-C${ci + 1}-G${g}` }, geometry: { type: 'Polygon', coordinates: [ring] } })
    }
  }
  return { type: 'FeatureCollection', features }
}
