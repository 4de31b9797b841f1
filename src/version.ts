/** The package's version (package.json's), as --version and Version report it. */
export const PACKAGE_VERSION = '0.1.0'
