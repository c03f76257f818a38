// A persistent (immutable, path-copying) AVL tree keyed by `compareKeys`: the cell's
// ordered map. Get, set and delete are O(log n) and copy only the O(log n) nodes on the
// path, so every older root stays a valid snapshot at no cost; a range scan is
// O(log n + entries returned).
import { compareKeys } from './keys.ts';
import type { Key } from './keys.ts';

export interface TreeNode<V> {
  readonly key: Key;
  readonly value: V;
  readonly left: TreeNode<V> | undefined;
  readonly right: TreeNode<V> | undefined;
  // Invariant: height = 1 + max(height(left), height(right)), and the two differ by at most 1.
  readonly height: number;
}

export type Tree<V> = TreeNode<V> | undefined;

function height<V>(tree: Tree<V>): number {
  return tree === undefined ? 0 : tree.height;
}

function node<V>(key: Key, value: V, left: Tree<V>, right: Tree<V>): TreeNode<V> {
  return { key, value, left, right, height: 1 + Math.max(height(left), height(right)) };
}

/** Rebuilds a node whose children's heights differ by at most 2, restoring balance. */
function balance<V>(key: Key, value: V, left: Tree<V>, right: Tree<V>): TreeNode<V> {
  const leftHeight = height(left);
  const rightHeight = height(right);
  if (leftHeight > rightHeight + 1 && left !== undefined) {
    if (height(left.left) >= height(left.right)) {
      return node(left.key, left.value, left.left, node(key, value, left.right, right));
    }
    const pivot = left.right as TreeNode<V>;
    return node(
      pivot.key,
      pivot.value,
      node(left.key, left.value, left.left, pivot.left),
      node(key, value, pivot.right, right),
    );
  }
  if (rightHeight > leftHeight + 1 && right !== undefined) {
    if (height(right.right) >= height(right.left)) {
      return node(right.key, right.value, node(key, value, left, right.left), right.right);
    }
    const pivot = right.left as TreeNode<V>;
    return node(
      pivot.key,
      pivot.value,
      node(key, value, left, pivot.left),
      node(right.key, right.value, pivot.right, right.right),
    );
  }
  return node(key, value, left, right);
}

export function treeGet<V>(tree: Tree<V>, key: Key): V | undefined {
  let current = tree;
  while (current !== undefined) {
    const order = compareKeys(key, current.key);
    if (order === 0) return current.value;
    current = order < 0 ? current.left : current.right;
  }
  return undefined;
}

/** A new tree with `key` set to `value` (inserted or replaced). */
export function treeSet<V>(tree: Tree<V>, key: Key, value: V): TreeNode<V> {
  if (tree === undefined) return node(key, value, undefined, undefined);
  const order = compareKeys(key, tree.key);
  if (order === 0) return node(key, value, tree.left, tree.right);
  if (order < 0) return balance(tree.key, tree.value, treeSet(tree.left, key, value), tree.right);
  return balance(tree.key, tree.value, tree.left, treeSet(tree.right, key, value));
}

function removeMinimum<V>(tree: TreeNode<V>): { minimum: TreeNode<V>; rest: Tree<V> } {
  if (tree.left === undefined) return { minimum: tree, rest: tree.right };
  const { minimum, rest } = removeMinimum(tree.left);
  return { minimum, rest: balance(tree.key, tree.value, rest, tree.right) };
}

/** A new tree without `key` (the same tree if the key is absent). */
export function treeDelete<V>(tree: Tree<V>, key: Key): Tree<V> {
  if (tree === undefined) return undefined;
  const order = compareKeys(key, tree.key);
  if (order < 0) {
    const left = treeDelete(tree.left, key);
    return left === tree.left ? tree : balance(tree.key, tree.value, left, tree.right);
  }
  if (order > 0) {
    const right = treeDelete(tree.right, key);
    return right === tree.right ? tree : balance(tree.key, tree.value, tree.left, right);
  }
  if (tree.left === undefined) return tree.right;
  if (tree.right === undefined) return tree.left;
  const { minimum, rest } = removeMinimum(tree.right);
  return balance(minimum.key, minimum.value, tree.left, rest);
}

/**
 * Visits nodes in key order starting at the first key >= `from` (or > `from` when
 * `exclusive`), until `visit` returns false. The explicit stack holds O(log n) nodes.
 */
export function treeVisitFrom<V>(
  tree: Tree<V>,
  from: Key,
  exclusive: boolean,
  visit: (node: TreeNode<V>) => boolean,
): void {
  const stack: TreeNode<V>[] = [];
  let current = tree;
  while (current !== undefined) {
    const order = compareKeys(current.key, from);
    if (order > 0 || (order === 0 && !exclusive)) {
      stack.push(current);
      current = current.left;
    } else current = current.right;
  }
  while (stack.length > 0) {
    const next = stack.pop() as TreeNode<V>;
    if (!visit(next)) return;
    current = next.right;
    while (current !== undefined) {
      stack.push(current);
      current = current.left;
    }
  }
}

/** Checks the AVL and order invariants; for tests and assertions. Returns the node count. */
export function treeCheckInvariants<V>(tree: Tree<V>): number {
  if (tree === undefined) return 0;
  if (tree.left !== undefined && compareKeys(tree.left.key, tree.key) >= 0) throw new Error('order violated');
  if (tree.right !== undefined && compareKeys(tree.right.key, tree.key) <= 0)
    throw new Error('order violated');
  if (Math.abs(height(tree.left) - height(tree.right)) > 1) throw new Error('balance violated');
  if (tree.height !== 1 + Math.max(height(tree.left), height(tree.right))) throw new Error('height violated');
  return 1 + treeCheckInvariants(tree.left) + treeCheckInvariants(tree.right);
}
