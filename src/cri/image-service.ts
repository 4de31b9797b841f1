// The CRI ImageService face: pulls, lists, inspects and removes images in namespace k8s.io.
import type { ImageServiceHandlers } from '../generated/runtime/v1/ImageService.js'
import type { ImageFilter__Output } from '../generated/runtime/v1/ImageFilter.js'
import { invalidArgument } from '../model/errors.js'
import type { Node } from '../model/node.js'
import { nowNs } from '../model/time.js'
import type { Implementation } from '../rpc/adapter.js'
import { toImage } from './convert.js'

/** Where containerd's CRI snapshotter keeps its snapshots: the image filesystem kubelet watches. */
const IMAGE_FS_MOUNTPOINT = '/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs'
const u64 = (v: bigint | number): { value: string } => ({ value: v.toString() })

export function imageService(node: Node): Implementation<ImageServiceHandlers> {
  const list = (filter: ImageFilter__Output | null) => {
    const wanted = filter?.image?.image
    if (wanted) {
      const found = node.images.resolve(wanted)
      return found ? [toImage(found)] : []
    }
    return node.images.list().map(toImage)
  }

  const imageSpec = (spec: { image: string } | null): string => {
    if (!spec || spec.image === '') throw invalidArgument('image spec is required: set image.image to a reference or an image id')
    return spec.image
  }

  return {
    ListImages: (req) => ({ images: list(req.filter) }),

    StreamImages: async (req, _ctx, send) => {
      const images = list(req.filter)
      for (let i = 0; i < images.length; i += 5000) send({ images: images.slice(i, i + 5000) })
    },

    ImageStatus: (req) => {
      const image = node.images.resolve(imageSpec(req.image))
      if (!image) return { image: null, info: {} }
      const synthesised = node.images.synthesisedNote(image)
      const info: Record<string, string> = !req.verbose
        ? {}
        : {
            ...(synthesised ? { synthesised } : {}),
            info: JSON.stringify({
              chainID: image.content.manifestDigest,
              imageSpec: {
                architecture: image.content.architecture,
                os: image.content.os,
                config: {
                  User: image.content.config.user || undefined,
                  Env: image.content.config.env,
                  Entrypoint: image.content.config.entrypoint.length ? image.content.config.entrypoint : undefined,
                  Cmd: image.content.config.cmd.length ? image.content.config.cmd : undefined,
                  WorkingDir: image.content.config.workingDir || undefined,
                  ExposedPorts: Object.fromEntries(image.content.config.exposedPorts.map((p) => [p, {}])),
                  StopSignal: image.content.config.stopSignal || undefined,
                  Labels: image.content.config.labels,
                },
                rootfs: { type: 'layers' },
              },
            }),
          }
      return { image: toImage(image), info }
    },

    PullImage: async (req, ctx) => {
      const ref = imageSpec(req.image)
      const a = req.auth
      const auth = a
        ? {
            username: a.username,
            password: a.password,
            auth: a.auth,
            serverAddress: a.server_address,
            identityToken: a.identity_token,
            registryToken: a.registry_token,
          }
        : undefined
      return { image_ref: (await node.images.pull(ref, auth, ctx.nodeFaults, ctx.signal)).id }
    },

    RemoveImage: (req) => {
      node.images.remove(imageSpec(req.image))
      return {}
    },

    ImageFsInfo: () => {
      // containerd sums the usage of every snapshot CRI's snapshotter holds in k8s.io (image layers
      // and containers' writable layers) into one image filesystem, and reports no container one.
      const full = node.faults.condition('imageFsFull')
      const usage = node.images.filesystemUsage()
      return {
        image_filesystems: [
          {
            timestamp: nowNs().toString(),
            fs_id: { mountpoint: IMAGE_FS_MOUNTPOINT },
            // An image filesystem that is full reports (nearly) all of a 100 GiB disk in use.
            used_bytes: u64(full ? 100 * 1024 ** 3 - 4096 : usage.size),
            inodes_used: u64(usage.inodes),
          },
        ],
      }
    },
  }
}
