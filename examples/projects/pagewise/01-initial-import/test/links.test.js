'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { pageLinks } = require('../src');

test('one link per page, the current one marked', () => {
  assert.deepEqual(pageLinks(2, 3), [
    { page: 1, current: false },
    { page: 2, current: true },
    { page: 3, current: false },
  ]);
});
