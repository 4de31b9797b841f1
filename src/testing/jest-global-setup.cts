// `globalSetup: 'fake-containerd/jest/global-setup'` in a jest config: starts one fake-containerd
// in jest's process and sets process.env.FAKE_CONTAINERD_ADDRESS (see fake-containerd/jest).
import jest = require('./jest.cjs')

export = jest.globalSetup
