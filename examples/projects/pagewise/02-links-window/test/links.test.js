'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { pageLinks } = require('../src');

const pagesOf = (links) => links.map((link) => (link === null ? '…' : link.page));

test('one link per page, the current one marked', () => {
  assert.deepEqual(pageLinks(2, 3), [
    { page: 1, current: false },
    { page: 2, current: true },
    { page: 3, current: false },
  ]);
});

test('long pagers show a window around the current page and gaps', () => {
  assert.deepEqual(pagesOf(pageLinks(10, 20)), [1, '…', 8, 9, 10, 11, 12, '…', 20]);
  assert.deepEqual(pagesOf(pageLinks(1, 20, { window: 1 })), [1, 2, '…', 20]);
  assert.deepEqual(pagesOf(pageLinks(4, 7, { window: 1 })), [1, '…', 3, 4, 5, '…', 7]);
});

test('no gap where only neighbours are left out', () => {
  assert.deepEqual(pagesOf(pageLinks(3, 5, { window: 1 })), [1, 2, 3, 4, 5]);
});
