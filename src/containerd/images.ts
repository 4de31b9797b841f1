// Images service: containerd's image records (name → target descriptor). CRI pulls create them
// too (tag, repo@digest, id), so both APIs see one set of images.
import type { Image } from '../generated/containerd/services/images/v1/Image.js'
import type { Image__Output } from '../generated/containerd/services/images/v1/Image.js'
import type { ImagesHandlers } from '../generated/containerd/services/images/v1/Images.js'
import { invalidArgument } from '../model/errors.js'
import type { RecordInput } from '../model/metadata/images.js'
import type { Node } from '../model/node.js'
import type { ImageRecord } from '../store/schema.js'
import type { Implementation } from '../rpc/adapter.js'
import { namespaceOf } from './context.js'
import { timestamp } from './convert.js'
import { mapField, parseFilters, type Adaptor } from './filters.js'

export function toImage(r: ImageRecord): Image {
  return {
    name: r.name,
    labels: r.labels,
    target: { media_type: r.mediaType, digest: r.manifestDigest, size: String(r.size), annotations: r.annotations ?? {} },
    created_at: timestamp(r.createdAt),
    updated_at: timestamp(r.updatedAt),
  }
}

/** containerd's image filter fields: name, target.digest, target.mediatype, labels.<k>, annotations.<k>. */
function adaptor(r: ImageRecord): Adaptor {
  return (path) => {
    switch (path[0]) {
      case 'name':
        return r.name || undefined
      case 'target':
        if (path[1] === 'digest') return r.manifestDigest || undefined
        if (path[1] === 'mediatype') return r.mediaType || undefined
        return undefined
      case 'labels':
        return mapField(path.slice(1), r.labels)
      case 'annotations':
        return mapField(path.slice(1), r.annotations)
    }
    return undefined
  }
}

function input(image: Image__Output | null): RecordInput {
  if (!image) throw invalidArgument('image is required: invalid argument')
  const t = image.target
  return {
    name: image.name,
    labels: { ...image.labels },
    target: { mediaType: t?.media_type ?? '', digest: t?.digest ?? '', size: Number(t?.size ?? 0), annotations: { ...t?.annotations } },
  }
}

export function imagesService(node: Node): Implementation<ImagesHandlers> {
  return {
    Get: (req, ctx) => ({ image: toImage(node.images.record(namespaceOf(ctx), req.name)) }),
    List: (req, ctx) => {
      const match = parseFilters(req.filters)
      return {
        images: node.images
          .records(namespaceOf(ctx))
          .filter((r) => match(adaptor(r)))
          // In name order, as containerd's bolt bucket keeps them.
          .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
          .map(toImage),
      }
    },
    Create: (req, ctx) => ({ image: toImage(node.images.createRecord(namespaceOf(ctx), input(req.image))) }),
    Update: (req, ctx) => {
      const namespace = namespaceOf(ctx)
      const given = input(req.image)
      if (given.name === '') throw invalidArgument('image name is required for update: invalid argument')
      const current = node.images.record(namespace, given.name)
      const paths = req.update_mask?.paths ?? []
      // Without a mask every field is replaced; with one, only the named fields.
      const next: RecordInput =
        paths.length === 0
          ? given
          : {
              name: current.name,
              labels: { ...current.labels },
              target: {
                mediaType: current.mediaType,
                digest: current.manifestDigest,
                size: current.size,
                annotations: { ...current.annotations },
              },
            }
      for (const path of paths) {
        if (path === 'labels') next.labels = given.labels
        else if (path.startsWith('labels.')) {
          const key = path.slice('labels.'.length)
          const value = given.labels[key]
          if (value === undefined || value === '') delete next.labels[key]
          else next.labels[key] = value
        } else if (path === 'target') next.target = { ...given.target, annotations: next.target.annotations }
        else if (path === 'annotations') next.target.annotations = given.target.annotations
        else if (path.startsWith('annotations.')) {
          const key = path.slice('annotations.'.length)
          const value = given.target.annotations[key]
          if (value === undefined || value === '') delete next.target.annotations[key]
          else next.target.annotations[key] = value
        } else throw invalidArgument(`cannot update ${JSON.stringify(path)} field on image ${JSON.stringify(given.name)}: invalid argument`)
      }
      return { image: toImage(node.images.updateRecord(namespace, next)) }
    },
    Delete: (req, ctx) => {
      node.images.deleteRecord(namespaceOf(ctx), req.name, req.target?.digest)
      return {}
    },
  }
}
