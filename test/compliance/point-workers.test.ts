import { rendezvousCompliance } from './index.ts'
import { pointSetup, privatePointSetup } from './point-setups.ts'
import { privateRendezvousCompliance } from './private.ts'

// the same rules with two worker processes in front of the one store (spec/rendezvous.md#workers)
rendezvousCompliance('rendezvous point, 2 workers', pointSetup(2))
privateRendezvousCompliance('rendezvous point, 2 workers', privatePointSetup(2))
