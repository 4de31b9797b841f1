// Original file: /work/main/proto/cri/runtime/v1/api.proto


export interface StopContainerResponse {
}

export interface StopContainerResponse__Output {
}
