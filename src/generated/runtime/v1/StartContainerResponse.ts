// Original file: /work/main/proto/cri/runtime/v1/api.proto


export interface StartContainerResponse {
}

export interface StartContainerResponse__Output {
}
