// Original file: /work/main/proto/cri/runtime/v1/api.proto


export interface RemoveContainerResponse {
}

export interface RemoveContainerResponse__Output {
}
