// A process that builds a lab and never destroys it, for test/lab.test.ts's cleanup tests.
// argv[2]: JSON { then: 'exit' | 'wait' } — 'exit' returns from the script at once (the
// process.on('exit') hook must remove the lab), 'wait' keeps running until stdin closes or the
// test kills it (SIGKILL: then only sweepStaleLabs() can remove the lab).
// Prints one JSON line: { event: 'ready', prefix, namespaces }.
import { createLab } from './index.ts'

const args = JSON.parse(process.argv[2] ?? '{}') as { then?: 'exit' | 'wait' }
const lab = await createLab({ nats: [{ name: 'cg', type: 'port-restricted', double: true }] })
console.log(JSON.stringify({ event: 'ready', prefix: lab.prefix, namespaces: lab.namespaces }))
if (args.then === 'wait') process.stdin.resume()
