'use strict';

// Ideal control for pagewise-last-page, written from the user's words only: the public
// paginate() result, as a pager footer reads it (`page`, `pages`, `hasPrevious`, `hasNext`).

const test = require('node:test');
const assert = require('node:assert/strict');
const { paginate } = require('../src');

const numbers = (count) => Array.from({ length: count }, (_, i) => i + 1);

test('45 users at 10 a page: page 4 has a next page and users 41 to 45 are on page 5', () => {
  const users = numbers(45);
  const fourth = paginate(users, { page: 4, perPage: 10 });
  assert.equal(fourth.hasNext, true);
  assert.equal(fourth.pages, 5);
  const fifth = paginate(users, { page: 5, perPage: 10 });
  assert.deepEqual(fifth.items, [41, 42, 43, 44, 45]);
  assert.equal(fifth.page, 5);
  assert.equal(fifth.pages, 5);
  assert.equal(fifth.hasNext, false);
  assert.equal(fifth.hasPrevious, true);
});

test('no list whose length is not a multiple of the page size loses its last page', () => {
  const sizes = [1, 2, 3, 7, 10, 20, 25, 100, 250, 1000];
  const totals = [...numbers(60), 99, 100, 101, 249, 251, 999, 1000, 1001, 1999, 2001, 2500];
  for (const perPage of sizes) {
    for (const total of totals) {
      const items = numbers(total);
      const expected = Math.ceil(total / perPage);
      const first = paginate(items, { page: 1, perPage });
      assert.equal(first.pages, expected, `${total} items at ${perPage} a page`);
      const last = paginate(items, { page: expected, perPage });
      assert.equal(last.page, expected, `${total} items at ${perPage} a page`);
      assert.deepEqual(last.items, items.slice((expected - 1) * perPage), `${total} at ${perPage}`);
      assert.equal(last.hasNext, false, `${total} items at ${perPage} a page`);
      if (expected > 1) {
        const beforeLast = paginate(items, { page: expected - 1, perPage });
        assert.equal(beforeLast.hasNext, true, `${total} items at ${perPage} a page`);
      }
    }
  }
});

test('paginating an empty list gives one empty page, not zero pages', () => {
  for (const options of [{ perPage: 10 }, {}, { page: 1, perPage: 25 }]) {
    const empty = paginate([], options);
    assert.deepEqual(empty.items, []);
    assert.equal(empty.page, 1);
    assert.equal(empty.pages, 1);
    assert.equal(empty.hasPrevious, false);
    assert.equal(empty.hasNext, false);
  }
});

test('a page past the end gives the last real page, described as that page', () => {
  const users = numbers(45);
  for (const asked of [6, 9, 100]) {
    const past = paginate(users, { page: asked, perPage: 10 });
    assert.equal(past.page, 5);
    assert.deepEqual(past.items, [41, 42, 43, 44, 45]);
    assert.equal(past.pages, 5);
    assert.equal(past.hasNext, false);
    assert.equal(past.hasPrevious, true);
  }
  const single = paginate(numbers(5), { page: 3, perPage: 10 });
  assert.equal(single.page, 1);
  assert.deepEqual(single.items, numbers(5));
  assert.equal(single.hasPrevious, false);
  assert.equal(single.hasNext, false);
  const empty = paginate([], { page: 4, perPage: 10 });
  assert.equal(empty.page, 1);
  assert.deepEqual(empty.items, []);
  assert.equal(empty.hasPrevious, false);
  assert.equal(empty.hasNext, false);
});

test('page 0 and negative pages give the first page, described as that page', () => {
  const users = numbers(45);
  for (const asked of [0, -1, -7]) {
    const before = paginate(users, { page: asked, perPage: 10 });
    assert.equal(before.page, 1);
    assert.deepEqual(before.items, numbers(10));
    assert.equal(before.hasPrevious, false);
    assert.equal(before.hasNext, true);
    const single = paginate(numbers(5), { page: asked, perPage: 10 });
    assert.equal(single.page, 1);
    assert.deepEqual(single.items, numbers(5));
    assert.equal(single.hasPrevious, false);
    assert.equal(single.hasNext, false);
    const empty = paginate([], { page: asked, perPage: 10 });
    assert.equal(empty.page, 1);
    assert.deepEqual(empty.items, []);
    assert.equal(empty.hasNext, false);
  }
});
