// Original file: /work/main/proto/cri/runtime/v1/api.proto


export interface VersionRequest {
  'version'?: (string);
}

export interface VersionRequest__Output {
  'version': (string);
}
