// The RPCs a call fault can name: every method of every service the server serves, except the
// harness's own (its calls are never open to faults). Read from the same proto definitions the
// server builds its handlers from (service-descriptors.cts → proto/load.ts), so a method the protos
// gain is a name rules may use at once, and no list of names is kept by hand.
import { servicePackage } from '../proto/load.js'
import { SERVICES, isHarness, serviceConstructor } from '../service-descriptors.cjs'

export interface ServedService {
  /** The full name, e.g. runtime.v1.RuntimeService. */
  readonly name: string
  /** The last part of the name, e.g. RuntimeService (a rule's service may say either). */
  readonly short: string
  readonly methods: readonly string[]
}

let served: readonly ServedService[] | undefined

/** The services open to call faults and their methods, loaded once. */
export function servedServices(): readonly ServedService[] {
  served ??= SERVICES.filter((s) => !isHarness(s)).map((s) => ({
    name: s.name,
    short: s.name.split('.').pop() as string,
    methods: Object.keys(serviceConstructor(servicePackage(s.group), s.name).service),
  }))
  return served
}
