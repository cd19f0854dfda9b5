'use strict';

// MAJOR.MINOR.PATCH, an optional -prerelease and optional +build metadata.
const VERSION = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?$/;

function parse(text) {
  const match = VERSION.exec(String(text).trim());
  if (!match) {
    throw new TypeError(`not a semantic version: ${JSON.stringify(text)}`);
  }
  const [, major, minor, patch, prerelease, build] = match;
  return {
    major,
    minor,
    patch,
    prerelease: prerelease ? prerelease.split('.') : [],
    build: build ? build.split('.') : [],
  };
}

function format(version) {
  let text = `${version.major}.${version.minor}.${version.patch}`;
  if (version.prerelease.length > 0) {
    text += `-${version.prerelease.join('.')}`;
  }
  if (version.build.length > 0) {
    text += `+${version.build.join('.')}`;
  }
  return text;
}

function valid(text) {
  try {
    parse(text);
    return true;
  } catch {
    return false;
  }
}

module.exports = { parse, format, valid };
