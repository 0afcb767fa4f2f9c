// Remove every NAT lab whose owner process is gone (run as root): `node tools/nat-lab/src/sweep.ts`.
// createLab() does the same before it builds a lab; this is for a machine left with the
// namespaces of a killed test run. Prints one JSON line with the namespaces removed.
import { sweepStaleLabs } from './index.ts'

console.log(JSON.stringify({ event: 'swept', namespaces: sweepStaleLabs() }))
