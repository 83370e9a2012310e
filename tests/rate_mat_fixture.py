#!/usr/bin/env python3
"""MAT-file fixtures of tests/test_rate_mat.cpp, written with scipy.io.savemat in the field
layout of the original rkim35/spikeRNN rate/main.py (spec rate-to-spiking.md section 5).

  originals OUT      original-format models (three tasks, activations, SOM, one/two taus)
                     plus .npy copies of their weights
  h5tomat H5 MAT     the rsnn HDF5 model H5 as an original-format MAT (plus one extra field)
  check MAT TASK K   assert the original's shapes and types in a MAT written by rsnn
                     (K > 0: also the grid-search fields)
  bad OUT            malformed models, one defect each
  oldv73 H5 MAT      H5 in the layout of rsnn's own v7.3 export before libmatio (HDF5 with the
                     512-byte MAT header, MATLAB_class attributes, column-major data)
"""
import os
import sys

import numpy as np
import scipy.io


def network(rng, N, C, som_N, P_inh=0.3):
    """Cell types and weights as FR_RNN_dale (relu'd w, float32 masks)."""
    inh = rng.rand(N, 1) < P_inh
    inh[0, 0] = True  # at least one inhibitory unit
    exc = ~inh
    w = np.zeros((N, N), dtype=np.float32)
    idx = np.where(rng.rand(N, N) < 0.2)
    w[idx[0], idx[1]] = rng.normal(0, 1.0, len(idx[0]))
    w = np.abs(w / np.sqrt(N * 0.2) * 1.5).astype(np.float32)
    inh_idx = np.where(inh)[0]
    m = np.eye(N, dtype=np.float32)
    m[inh_idx, inh_idx] = -1
    som_m = np.ones((N, N), dtype=np.float32)
    for i in inh_idx[:som_N]:
        som_m[i, inh_idx] = 0
    return dict(w=w, w0=w.copy(), m=m, som_m=som_m, exc=exc, inh=inh,
                w_in=np.float32(rng.randn(N, C)), w_out=np.float32(rng.randn(1, N) / 100),
                taus_gaus=np.float32(rng.randn(N, 1)))


def original(rng, N, C, T, act, som_N, taus, xor_labels):
    net = network(rng, N, C, som_N)
    trace = [np.float32(rng.randn(N, 1)) for _ in range(T)]  # a list of N x 1, as TF returns
    var = dict(net)
    var.update(
        x0=trace, r0=trace, taus_gaus0=net['taus_gaus'].copy(), w_in0=net['w_in'].copy(),
        u=np.zeros((C, T)), o=[np.float32(rng.randn(1, 1)) for _ in range(T - 1)], x=trace,
        r=trace, target=np.squeeze(np.zeros((1, T))), N=N, b_out=np.float32(0.25), som_N=som_N,
        losses=np.zeros((50,)), taus=taus, eval_perf_mean=np.nanmean(np.ones((1, 4)), 1),
        eval_loss_mean=np.nanmean(np.ones((1, 4)) * 3, 1), eval_os=np.zeros((4, T - 1)),
        eval_labels=['same', 'diff', 'same', 'diff'] if xor_labels else np.zeros((4,)),
        tr=42, activation=act)
    return var


def originals(out):
    specs = [  # name, N, C, T, activation, som_N, taus, XOR labels
        ('gonogo_sigmoid', 12, 1, 200, 'sigmoid', 0, [4.0, 10.0], False),
        ('xor_softplus_som', 12, 2, 300, 'softplus', 2, [4.0, 20.0], True),
        ('mante_relu_onetau', 12, 4, 500, 'clipped_relu', 0, [5.0], False),
    ]
    for k, (name, N, C, T, act, som_N, taus, xor) in enumerate(specs):
        var = original(np.random.RandomState(k + 1), N, C, T, act, som_N, taus, xor)
        # MATLAB's own `save` compresses (v7); scipy's default does not: one of each.
        scipy.io.savemat(os.path.join(out, name + '.mat'), var, do_compression=name.startswith('mante'))
        for f in ('w', 'w_in', 'w_out', 'taus_gaus'):
            np.save(os.path.join(out, name + '_' + f + '.npy'), var[f])


def h5tomat(h5, mat):
    import h5py
    with h5py.File(h5, 'r') as f:
        g = lambda k: f[k][()]
        N = int(g('N'))
        var = {k: np.float32(g(k)) for k in ('w', 'w0', 'm', 'som_m', 'w_in', 'w_out',
                                             'taus_gaus', 'taus_gaus0')}
        var.update(w_in0=var['w_in'].copy(), N=N, som_N=int(g('som_N')),
                   b_out=np.float32(g('b_out')), taus=[float(t) for t in g('taus').ravel()],
                   exc=g('exc').astype(bool), inh=g('inh').astype(bool),
                   activation=g('activation').decode(), tr=int(g('tr')),
                   losses=np.asarray(g('losses')).ravel(),
                   stable_perfs=np.array([0.5, 0.75]))  # a field rsnn does not know
    scipy.io.savemat(mat, var)


def check(mat, task, K):
    d = scipy.io.loadmat(mat)
    N = int(d['N'][0, 0])
    C, T = {'go-nogo': (1, 200), 'xor': (2, 300), 'mante': (4, 500)}[task]
    want = {  # name: (shape, dtype) as scipy.io.loadmat gives the original's
        'w': ((N, N), 'float32'), 'w0': ((N, N), 'float32'), 'm': ((N, N), 'float32'),
        'som_m': ((N, N), 'float32'), 'w_in': ((N, C), 'float32'), 'w_in0': ((N, C), 'float32'),
        'w_out': ((1, N), 'float32'), 'b_out': ((1, 1), 'float32'),
        'taus_gaus': ((N, 1), 'float32'), 'taus_gaus0': ((N, 1), 'float32'),
        'taus': ((1, 2), 'float64'), 'N': ((1, 1), 'int64'), 'som_N': ((1, 1), 'int64'),
        'tr': ((1, 1), 'int64'), 'exc': ((N, 1), 'uint8'), 'inh': ((N, 1), 'uint8'),
        'x0': ((T, N, 1), 'float32'), 'r0': ((T, N, 1), 'float32'),
        'x': ((T, N, 1), 'float32'), 'r': ((T, N, 1), 'float32'),
        'o': ((T - 1, 1), 'float32'), 'u': ((C, T), 'float64'), 'target': ((1, T), 'float64'),
        'eval_perf_mean': ((1, 1), 'float64'), 'eval_loss_mean': ((1, 1), 'float64'),
    }
    bad = []
    for k, (shape, dtype) in want.items():
        if k not in d:
            bad.append(k + ' missing')
        elif d[k].shape != shape or d[k].dtype != np.dtype(dtype):
            bad.append('%s: %s %s, expected %s %s' % (k, d[k].shape, d[k].dtype, shape, dtype))
    n = d['losses'].shape[1]
    if d['losses'].shape != (1, n) or d['losses'].dtype != np.float64:
        bad.append('losses: %s %s' % (d['losses'].shape, d['losses'].dtype))
    if not np.all(d['exc'] + d['inh'] == 1):
        bad.append('exc and inh are not complements')
    if list(d['activation']) != ['sigmoid']:
        bad.append('activation %s' % d['activation'])
    labels, os_ = d['eval_labels'], d['eval_os']
    if os_.shape[1] != T - 1 or os_.dtype != np.float64:
        bad.append('eval_os %s %s' % (os_.shape, os_.dtype))
    if task == 'xor':
        if labels.dtype.kind != 'U' or not set(labels) <= {'same', 'diff'} or len(labels) != os_.shape[0]:
            bad.append('eval_labels %s %s' % (labels, labels.dtype))
    elif labels.dtype != np.float64 or labels.shape != (1, os_.shape[0]):
        bad.append('eval_labels %s %s' % (labels.shape, labels.dtype))
    if K > 0:
        for k, shape in (('all_perfs', (K, 1)), ('scaling_factors', (1, K)), ('opt_scaling_factor', (1, 1))):
            if k not in d or d[k].shape != shape or d[k].dtype != np.float64:
                bad.append('%s: %s' % (k, (d[k].shape, d[k].dtype) if k in d else 'missing'))
    if 'stable_perfs' in d or 'format' in d or 'task' in d:
        bad.append('fields that are not the original\'s')
    print('\n'.join(bad) if bad else 'ok')
    return 1 if bad else 0


def bad(out):
    def base():
        return original(np.random.RandomState(7), 6, 1, 200, 'sigmoid', 1, [4.0, 10.0], False)
    cases = {}
    v = base(); del v['w']; cases['missing_w'] = v
    v = base(); v['w'] = v['w'][:, :5]; cases['shape_w'] = v
    v = base(); v['w_out'][0, 2] = np.nan; cases['nan_w_out'] = v
    v = base(); v['taus_gaus'][3, 0] = np.inf; cases['inf_taus_gaus'] = v
    v = base(); v['N'] = 6.5; cases['frac_N'] = v
    v = base(); v['activation'] = 'tanh'; cases['bad_activation'] = v
    v = base(); v['m'][0, 1] = 1; cases['offdiag_m'] = v
    v = base(); v['exc'] = v['inh'].copy(); cases['same_exc_inh'] = v
    v = base(); v['taus'] = 'abc'; cases['text_taus'] = v
    v = base(); cell = np.empty((1, 1), dtype=object); cell[0, 0] = v['w_in']; v['w_in'] = cell
    cases['cell_w_in'] = v
    v = base(); v['som_N'] = 50; cases['big_som_N'] = v
    v = base(); v['o'] = np.zeros((10, 1)); cases['shape_o'] = v
    v = base(); v['w'] = np.zeros((600, 600), np.float32); cases['big_w'] = v  # refused before its data is read
    for name, var in cases.items():
        scipy.io.savemat(os.path.join(out, name + '.mat'), var)


def oldv73(h5, mat):
    import h5py
    with h5py.File(h5, 'r') as src, h5py.File(mat, 'w', userblock_size=512) as f:
        def put(name, arr, cls, decode=0):
            ds = f.create_dataset(name, data=np.asarray(arr).T)  # column-major: dims reversed
            t = h5py.h5t.C_S1.copy()  # as that writer: NULLTERM strings of strlen bytes
            t.set_size(len(cls))
            t.set_strpad(h5py.h5t.STR_NULLTERM)
            a = h5py.h5a.create(ds.id, b'MATLAB_class', t, h5py.h5s.create(h5py.h5s.SCALAR))
            a.write(np.array(cls.encode(), dtype='S%d' % len(cls)), mtype=t)
            if decode:
                ds.attrs['MATLAB_int_decode'] = np.int32(decode)
        for k in ('w', 'w0', 'm', 'som_m', 'w_in', 'w_out', 'taus_gaus', 'taus_gaus0'):
            put(k, np.float32(src[k][()]), 'single')
        for k in ('b_out', 'N', 'som_N', 'tr'):
            put(k, np.array([[float(src[k][()])]]), 'double')
        put('taus', np.atleast_2d(src['taus'][()]).astype(float), 'double')
        put('exc', src['exc'][()].astype(np.uint8), 'logical', 1)
        put('inh', src['inh'][()].astype(np.uint8), 'logical', 1)
        act = src['activation'][()].decode()
        put('activation', np.array([[ord(c) for c in act]], dtype=np.uint16), 'char', 2)
    header = b'MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Dec  7 00:00:00 2026 HDF5 schema 1.00 .'
    with open(mat, 'r+b') as fh:
        fh.write(header.ljust(116, b' ') + b'\0' * 8 + b'\x00\x02IM')


if __name__ == '__main__':
    cmd = sys.argv[1]
    if cmd == 'originals':
        originals(sys.argv[2])
    elif cmd == 'h5tomat':
        h5tomat(sys.argv[2], sys.argv[3])
    elif cmd == 'check':
        sys.exit(check(sys.argv[2], sys.argv[3], int(sys.argv[4])))
    elif cmd == 'bad':
        bad(sys.argv[2])
    elif cmd == 'oldv73':
        oldv73(sys.argv[2], sys.argv[3])
    else:
        sys.exit('unknown command ' + cmd)
