'use strict';

// Outcome tests written from the user's request: url.format percent-encodes query KEYS as well
// as values, so that parsing the link the way the user's server does (qs, i.e.
// url.parse(link, true)) gives back exactly the keys and values put in; arrays come back as
// arrays in any array style. Public API only: this package's format() and parse().

var test = require('node:test');
var assert = require('node:assert');
var path = require('node:path');

var url = require(path.resolve(__dirname, '..'));

function roundTrip(query) {
    var link = url.format({ pathname: '/search', query: query });
    return { link: link, back: Object.assign({}, url.parse(link, true).query) };
}

test('the reported example: a space and an & in keys', function () {
    var r = roundTrip({ 'sort by': 'date', 'a&b': '1' });
    assert.doesNotMatch(r.link, /\s/, 'no raw whitespace in ' + r.link);
    assert.strictEqual(r.link.split('?')[1].split('&').length, 2, 'two parameters in ' + r.link);
    assert.deepStrictEqual(r.back, { 'sort by': 'date', 'a&b': '1' });
});

test('keys with + = # % : and non-ASCII characters survive the trip', function () {
    var query = {
        'a+b': '1',
        'x=y': '2',
        'hash#tag': '3',
        '100%': '4',
        'custom:id': '5',
        'café': '6',
        'q?': '7',
        plain: 'v a&l=u+e#%'
    };
    var r = roundTrip(query);
    assert.doesNotMatch(r.link, /#/, 'no raw # in ' + r.link);
    assert.deepStrictEqual(r.back, query);
});

test('array values come back as arrays, also under keys that need encoding', function () {
    var query = { tag: ['x', 'y'], 'tag list': ['a b', 'c&d'], 'k+1': ['1', '2', '3'] };
    var r = roundTrip(query);
    assert.deepStrictEqual(r.back, query);
});

test('values are still encoded', function () {
    var r = roundTrip({ q: 'fish & chips = 100% tasty?' });
    assert.deepStrictEqual(r.back, { q: 'fish & chips = 100% tasty?' });
});
