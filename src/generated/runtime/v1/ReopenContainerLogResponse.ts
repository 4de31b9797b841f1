// Original file: /work/main/proto/cri/runtime/v1/api.proto


export interface ReopenContainerLogResponse {
}

export interface ReopenContainerLogResponse__Output {
}
