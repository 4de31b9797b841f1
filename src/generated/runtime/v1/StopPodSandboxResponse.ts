// Original file: /work/main/proto/cri/runtime/v1/api.proto


export interface StopPodSandboxResponse {
}

export interface StopPodSandboxResponse__Output {
}
