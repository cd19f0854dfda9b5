'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { paginate, pageCount } = require('../src');

const numbers = (count) => Array.from({ length: count }, (_, i) => i + 1);

test('the first page holds the first perPage items', () => {
  const first = paginate(numbers(30), { page: 1, perPage: 10 });
  assert.deepEqual(first.items, numbers(10));
  assert.equal(first.total, 30);
  assert.equal(first.hasPrevious, false);
  assert.equal(first.hasNext, true);
});

test('a middle page knows both neighbours', () => {
  const second = paginate(numbers(30), { page: 2, perPage: 10 });
  assert.deepEqual(second.items, [11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
  assert.equal(second.hasPrevious, true);
  assert.equal(second.hasNext, true);
});

test('full pages are counted', () => {
  assert.equal(pageCount(30, 10), 3);
  assert.equal(pageCount(100, 25), 4);
});

test('perPage must be a positive integer', () => {
  assert.throws(() => pageCount(10, 0), RangeError);
  assert.throws(() => paginate([1, 2], { perPage: 1.5 }), RangeError);
});

test('a partial last page counts as a page', () => {
  assert.equal(pageCount(45, 10), 5);
  assert.equal(pageCount(41, 20), 3);
  assert.equal(pageCount(1, 25), 1);
});

test('exact multiples get no extra page', () => {
  assert.equal(pageCount(40, 10), 4);
  assert.equal(pageCount(75, 25), 3);
});

test('the last partial page can be reached', () => {
  const users = numbers(45);
  assert.equal(paginate(users, { perPage: 10, page: 4 }).hasNext, true);
  const last = paginate(users, { page: 5, perPage: 10 });
  assert.deepEqual(last.items, [41, 42, 43, 44, 45]);
  assert.equal(last.pages, 5);
  assert.equal(last.hasNext, false);
  assert.equal(paginate(numbers(7), { page: 3, perPage: 3 }).items.length, 1);
});

test('an empty list is one empty page', () => {
  assert.equal(pageCount(0, 10), 1);
  const empty = paginate([], { perPage: 10 });
  assert.deepEqual(empty.items, []);
  assert.equal(empty.page, 1);
  assert.equal(empty.pages, 1);
  assert.equal(empty.hasPrevious, false);
  assert.equal(empty.hasNext, false);
});

test('pages past either end give the nearest real page', () => {
  const users = numbers(45);
  const past = paginate(users, { page: 9, perPage: 10 });
  assert.equal(past.page, 5);
  assert.deepEqual(past.items, [41, 42, 43, 44, 45]);
  assert.equal(past.hasNext, false);
  const before = paginate(users, { page: 0, perPage: 10 });
  assert.equal(before.page, 1);
  assert.deepEqual(before.items, numbers(10));
  assert.equal(before.hasPrevious, false);
});
