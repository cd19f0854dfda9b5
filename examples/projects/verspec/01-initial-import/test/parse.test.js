'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { parse, format, valid } = require('../src');

test('parse reads the three numbers, prerelease and build', () => {
  const version = parse('1.2.3-beta.1+build.5');
  assert.equal(format(version), '1.2.3-beta.1+build.5');
  assert.deepEqual(version.prerelease, ['beta', '1']);
  assert.deepEqual(version.build, ['build', '5']);
});

test('a leading v is accepted', () => {
  assert.equal(format(parse('v2.0.1')), '2.0.1');
});

test('anything else is not a version', () => {
  for (const text of ['1.2', '1.2.3.4', 'one.two.three', '']) {
    assert.equal(valid(text), false, text);
    assert.throws(() => parse(text), TypeError);
  }
});
