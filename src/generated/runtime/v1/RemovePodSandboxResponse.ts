// Original file: /work/main/proto/cri/runtime/v1/api.proto


export interface RemovePodSandboxResponse {
}

export interface RemovePodSandboxResponse__Output {
}
