"""How NIR consumers order a graph's nodes and which edges they delay.

NIR has no ``dt`` and no delays: a consumer steps every node once per time
step and has to decide, in a graph with cycles, which inputs come from the
previous step. nirtorch 2.6 (the importer that Norse 1.1.0 uses) visits the
nodes in the graph's order (`nir.read` gives them sorted by name), puts off a
node until its inputs are computed, and feeds a node the previous step's
output of an input that is not computed yet and that the node itself reaches
(an input from the "future"). `schedule` reproduces that rule, so that
`nengo_lmu.nir.simulate` and `nengo_lmu.nir.from_nir` delay exactly the edges
that Norse delays, and `to_nir` names nodes so that the delayed edges are the
ones the Nengo network delays.
"""

import collections

__all__ = ["schedule"]


def _reaches(start, goal, successors):
    seen, stack = set(), [start]
    while stack:
        node = stack.pop()
        if node == goal:
            return True
        if node in seen:
            continue
        seen.add(node)
        stack.extend(successors.get(node, ()))
    return False


def schedule(nodes, edges):
    """The order in which consumers compute ``nodes``, and the delayed edges.

    Parameters
    ----------
    nodes : dict
        NIR nodes by name, in the graph's order.
    edges : list of (str, str)

    Returns
    -------
    order : list of str
        Every node once; input nodes first, output nodes last.
    delayed : set of (str, str)
        Edges whose source's output from the previous step is used.
    """
    import nir

    preds = collections.defaultdict(list)
    succs = collections.defaultdict(list)
    for src, dst in edges:
        preds[dst].append(src)
        succs[src].append(dst)
    inputs = [n for n, node in nodes.items() if isinstance(node, nir.Input)]
    outputs = [n for n, node in nodes.items() if isinstance(node, nir.Output)]
    order, delayed, done = list(inputs), set(), set(inputs)
    queue = collections.deque(n for n in nodes if n not in done and n not in outputs)
    stalls = 0
    while queue:
        name = queue.popleft()
        missing = [p for p in preds[name] if p not in done]
        recurrent = {
            p
            for p in missing
            if len(preds[name]) > 1 and (p == name or _reaches(name, p, succs))
        }
        if any(p not in recurrent for p in missing):
            queue.append(name)
            stalls += 1
            if stalls > len(queue) + 1:
                raise ValueError(
                    f"no consumer order for nodes {sorted(queue)}: a loop in which no "
                    "node has a second input"
                )
            continue
        stalls = 0
        delayed.update((p, name) for p in recurrent)
        order.append(name)
        done.add(name)
    return order + outputs, delayed
