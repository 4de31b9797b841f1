// `globalTeardown: 'fake-containerd/jest/global-teardown'` in a jest config: closes the server
// fake-containerd/jest/global-setup started.
import jest = require('./jest.cjs')

export = jest.globalTeardown
