import { describe, expect, test } from 'vitest'
import { mapField, parseFilter, parseFilters, type Adaptor } from '../../src/containerd/filters.js'

const object = { id: 'web-1', image: 'docker.io/library/nginx:latest', labels: { 'io.cri-containerd.kind': 'sandbox', env: 'prod' } }
const adaptor: Adaptor = (path) => {
  switch (path[0]) {
    case 'id':
      return object.id
    case 'image':
      return object.image
    case 'labels':
      return mapField(path.slice(1), object.labels)
  }
  return undefined
}
const matches = (f: string): boolean => parseFilter(f)(adaptor)

describe('containerd filters', () => {
  test.each([
    ['', true],
    ['id==web-1', true],
    ['id==web-2', false],
    ['id!=web-2', true],
    ['id~=^web-', true],
    ['id~=/^web-[0-9]$/', true],
    ['id~=|^WEB|', false],
    ['image==docker.io/library/nginx:latest', true],
    ['labels."io.cri-containerd.kind"==sandbox', true],
    ['labels.env', true],
    ['labels.missing', false],
    ['labels.missing!=x', true],
    ['id==web-1,labels.env==prod', true],
    ['id==web-1, labels.env==dev', false],
    ['id == web-1', true],
    ['image=="docker.io/library/nginx:latest"', true],
  ])('%j → %s', (filter, expected) => {
    expect(matches(filter)).toBe(expected)
  })

  test('a request’s filters are alternatives', () => {
    expect(parseFilters(['id==nope', 'labels.env==prod'])(adaptor)).toBe(true)
    expect(parseFilters(['id==nope', 'labels.env==dev'])(adaptor)).toBe(false)
    expect(parseFilters([])(adaptor)).toBe(true)
  })

  // A dash is not a field character: such label keys must be quoted.
  test.each(['labels.io.cri-containerd.kind==sandbox', 'id=', 'id==a,', '=x', 'id=>x', 'labels."unterminated==x', 'id==x y', 'id~=/(/'])(
    '%j is a syntax error, InvalidArgument',
    (filter) => {
      expect(() => parseFilters([filter])).toThrow(/^filters: parse error: .*: invalid argument$/)
    },
  )
})
