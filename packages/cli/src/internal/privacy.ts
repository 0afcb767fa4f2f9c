// The privacy of a name looked up by `fara connect` and `fara resolve` (issue 16):
// a name the config file lists as private is looked up privately, with its
// secret, even without --private/--secret, so a forgotten flag never sends a
// private name in a public lookup (where the rendezvous point would learn it).
import { privateOf } from './entity.ts'
import { listedPrivacy } from './up-config.ts'
import type { Settings } from './config.ts'

/**
 * How to look `name` up: `--private`, `--secret` or `$FARA_SECRET` as given;
 * otherwise as the config file's "services" or "tunnels" list it (public if
 * not listed).
 */
export function lookupPrivacy (name: string, isPrivate: boolean, settings: Settings): { private?: true | { secret: string } } {
  if (isPrivate || settings.secret.value != null) return privateOf(isPrivate, settings.secret.value)
  const listed = listedPrivacy(settings.services.value, settings.tunnels.value, name)
  return listed == null ? {} : { private: listed }
}
