import { rendezvousCompliance } from './index.ts'
import { pointSetup } from './point-setups.ts'

rendezvousCompliance('rendezvous point (in-memory store)', pointSetup())
