// How a cluster (--nodes) is laid out before any node starts (src/cluster/plan.ts): a /24 of the pod
// CIDR and a loopback address per node, sockets and state files by name, and the input refused whole
// with a sentence saying what to change.
import { describe, expect, test } from 'vitest'
import { carvePodCidrs, explainStartFailure, hostAddressOf, planCluster } from '../../src/cluster/plan.js'

const input = { nodes: 3, socketDir: '/run/fc', podCidr: '10.88.0.0/16', streamAddress: '127.0.0.1:0' }

describe('a cluster plan', () => {
  test('each node has its name, socket, state file, /24 and loopback address', () => {
    expect(planCluster({ ...input, stateDir: '/var/lib/fc' })).toEqual([
      {
        index: 0,
        name: 'node-0',
        socket: '/run/fc/node-0.sock',
        state: '/var/lib/fc/node-0.json',
        podCidr: '10.88.0.0/24',
        hostAddress: '127.0.1.1',
        streamAddress: '127.0.1.1:0',
      },
      expect.objectContaining({ name: 'node-1', podCidr: '10.88.1.0/24', hostAddress: '127.0.1.2', streamAddress: '127.0.1.2:0' }),
      expect.objectContaining({ name: 'node-2', podCidr: '10.88.2.0/24', hostAddress: '127.0.1.3' }),
    ])
    expect(planCluster(input)[0]).not.toHaveProperty('state')
  })

  test('loopback addresses skip .0 and .255 and never repeat; pod ranges never overlap', () => {
    expect([hostAddressOf(253), hostAddressOf(254), hostAddressOf(507), hostAddressOf(508)]).toEqual([
      '127.0.1.254',
      '127.0.2.1',
      '127.0.2.254',
      '127.0.3.1',
    ])
    const plans = planCluster({ ...input, nodes: 256 })
    expect(new Set(plans.map((p) => p.hostAddress)).size).toBe(256)
    expect(new Set(plans.map((p) => p.podCidr)).size).toBe(256)
    expect(plans.at(-1)?.podCidr).toBe('10.88.255.0/24')
    expect(carvePodCidrs('127.64.0.0/10', 2)).toEqual(['127.64.0.0/24', '127.64.1.0/24'])
  })

  test('a stream address off loopback with a fixed port gives each node the next port', () => {
    const plans = planCluster({ ...input, streamAddress: '0.0.0.0:10010' })
    expect(plans.map((p) => p.streamAddress)).toEqual(['0.0.0.0:10010', '0.0.0.0:10011', '0.0.0.0:10012'])
    expect(planCluster({ ...input, streamAddress: '127.0.0.1:10010' }).map((p) => p.streamAddress)).toEqual([
      '127.0.1.1:10010',
      '127.0.1.2:10010',
      '127.0.1.3:10010',
    ])
    // Any loopback address (127/8, localhost) is one: each node streams on its own.
    for (const host of ['127.0.0.2', 'localhost'])
      expect(planCluster({ ...input, streamAddress: `${host}:10010` }).map((p) => p.streamAddress)).toEqual([
        '127.0.1.1:10010',
        '127.0.1.2:10010',
        '127.0.1.3:10010',
      ])
    expect(() => planCluster({ ...input, streamAddress: '0.0.0.0:65535' })).toThrow(
      '--stream-address port 65535 leaves no port for node-1 (one port per node from it); choose a lower one or port 0',
    )
  })

  test('bad input is refused with what to change', () => {
    expect(() => planCluster({ ...input, nodes: 0 })).toThrow('nodes must be a whole number of at least 1, got 0')
    expect(() => planCluster({ ...input, nodes: 2, podCidr: '10.88.0.0/24' })).toThrow(
      '--pod-cidr 10.88.0.0/24 holds 1 node range of /24 (each node gets a /24, as Kubernetes gives each node of a cluster CIDR); 2 nodes need a /23 or larger, such as 10.88.0.0/23',
    )
    expect(() => planCluster({ ...input, nodes: 300 })).toThrow('300 nodes need a /15 or larger, such as 10.88.0.0/15')
    expect(() => planCluster({ ...input, podCidr: '10.88.0.0/25' })).toThrow('holds 0 node ranges of /24')
    expect(() => planCluster({ ...input, podCidr: '127.0.0.0/8' })).toThrow('overlaps 127.0.0.0/24')
    expect(() => planCluster({ ...input, podCidr: '127.0.128.0/17', nodes: 40000 })).toThrow(
      '--pod-cidr 127.0.128.0/17 holds 128 node ranges',
    )
    expect(() => planCluster({ ...input, podCidr: '127.0.128.0/17', nodes: 100 })).not.toThrow()
    expect(() => planCluster({ ...input, podCidr: '127.0.2.0/23', nodes: 1 })).not.toThrow()
    expect(() => planCluster({ ...input, podCidr: '127.0.2.0/23', nodes: 2 })).not.toThrow()
    expect(() => planCluster({ ...input, podCidr: '127.0.0.0/16', nodes: 1 })).toThrow('overlaps 127.0.0.0/24')
    expect(() => planCluster({ ...input, podCidr: '127.0.1.0/24', nodes: 1 })).toThrow(
      "--pod-cidr 127.0.1.0/24 overlaps the nodes' loopback addresses 127.0.1.1 … 127.0.1.1; choose a range away from 127.0.0.0/16, such as 127.64.0.0/10 or 10.88.0.0/16",
    )
    expect(() => planCluster({ ...input, podCidr: '127.0.2.0/24', nodes: 1 })).not.toThrow()
    // A larger range in 127/8 would take the host's 127.0.0.0/24 or the nodes' addresses: one in 10/8 is suggested.
    expect(() => planCluster({ ...input, podCidr: '127.0.2.0/23', nodes: 300 })).toThrow(
      '--pod-cidr 127.0.2.0/23 holds 2 node ranges of /24 (each node gets a /24, as Kubernetes gives each node of a cluster CIDR); 300 nodes need a /15 or larger, such as 10.0.0.0/15',
    )
    expect(() => planCluster({ ...input, podCidr: '127.64.0.0/16', nodes: 300 })).toThrow('such as 10.0.0.0/15')
  })

  test('a node that cannot listen on its loopback address is named, with what to do off Linux', () => {
    const [, node1] = planCluster(input)
    const refused = (code: string, at = '127.0.1.2:0'): Error => {
      const cause = Object.assign(new Error(`listen ${code}: address not available ${at}`), { code })
      return new Error(`cannot serve streams on ${at}: ${cause.message}`, { cause })
    }
    expect(explainStartFailure(node1!, refused('EADDRNOTAVAIL')).message).toBe(
      'node-1: cannot serve streams on 127.0.1.2:0: listen EADDRNOTAVAIL: address not available 127.0.1.2:0; ' +
        '127.0.1.2 is not an address of this host: --nodes needs every 127.0.x.y on loopback, as Linux has it ' +
        '(on macOS add them to lo0: sudo ifconfig lo0 alias 127.0.1.2, and so on for each node)',
    )
    expect(explainStartFailure(node1!, refused('EADDRINUSE')).message).toBe(
      'node-1: cannot serve streams on 127.0.1.2:0: listen EADDRINUSE: address not available 127.0.1.2:0',
    )
    // A stream address off loopback that the host lacks is the user's own: no loopback advice.
    const [, offLoopback] = planCluster({ ...input, streamAddress: '192.0.2.1:9000' })
    expect(explainStartFailure(offLoopback!, refused('EADDRNOTAVAIL', '192.0.2.1:9001')).message).toMatch(/^node-1: .*192\.0\.2\.1:9001$/)
  })
})
