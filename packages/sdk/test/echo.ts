import type { Association } from '../src/index.ts'

/** A service handler that sends back every chunk, with backpressure, and closes when the client does. */
export async function echo (association: Association): Promise<void> {
  for await (const chunk of association) {
    if (!association.send(chunk)) await association.onDrain()
  }
  await association.close()
}
