// Original file: /work/main/proto/cri/runtime/v1/api.proto


export interface ListPodSandboxMetricsRequest {
}

export interface ListPodSandboxMetricsRequest__Output {
}
