// Original file: /work/main/proto/cri/runtime/v1/api.proto


export interface StreamPodSandboxMetricsRequest {
}

export interface StreamPodSandboxMetricsRequest__Output {
}
