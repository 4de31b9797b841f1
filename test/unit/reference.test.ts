import { describe, expect, test } from 'vitest'
import { parseReference } from '../../src/model/reference.js'

describe('parseReference (containerd docker.ParseDockerRef)', () => {
  test.each([
    ['busybox', 'docker.io/library/busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['library/busybox', 'docker.io/library/busybox:latest'],
    ['myorg/app', 'docker.io/myorg/app:latest'],
    ['index.docker.io/library/nginx:1', 'docker.io/library/nginx:1'],
    ['quay.io/org/app', 'quay.io/org/app:latest'],
    ['localhost/app:dev', 'localhost/app:dev'],
    ['localhost:5000/app', 'localhost:5000/app:latest'],
    ['registry.k8s.io/pause:3.10', 'registry.k8s.io/pause:3.10'],
    [`nginx:1.25@sha256:${'a'.repeat(64)}`, `docker.io/library/nginx@sha256:${'a'.repeat(64)}`],
  ])('%s → %s', (input, normalized) => {
    expect(parseReference(input).normalized).toBe(normalized)
  })

  test.each(['', 'UPPER/case', 'a b', 'nginx:', 'nginx@sha256:short', ':tag', 'a//b'])('%j is an invalid reference format', (input) => {
    expect(() => parseReference(input)).toThrow(/invalid reference format/)
  })
})
