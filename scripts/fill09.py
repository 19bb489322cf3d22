"""Refresh lesson 09's result paragraphs (English and Chinese) from the numbers the notebook wrote.

Run after executing the notebook:  .venv/bin/python scripts/fill09.py [--quoted FILE]
It reads $TMPDIR/vae_notebooks_09_quoted.json (written by the last check cell of section 5) and the profile
table section 5 printed (two rows it leaves out of that file), rewrites
the seven result cells of notebooks/09_making_training_fast.ipynb (each found by the start of its
text, the keys of EN below), runs `translation extract 09`, puts the matching Chinese into
notebooks/zh/po/09_making_training_fast.po and runs `translation build 09` (not with --no-build).
"""
import json, re, subprocess, sys, tempfile
from pathlib import Path
import nbformat, polib

ROOT = Path(__file__).resolve().parents[1]
P = ROOT / 'notebooks/09_making_training_fast.ipynb'
PO = ROOT / 'notebooks/zh/po/09_making_training_fast.po'
QPATH = Path(sys.argv[sys.argv.index('--quoted') + 1]) if '--quoted' in sys.argv else \
    Path(tempfile.gettempdir()) / 'vae_notebooks_09_quoted.json'
Q = json.loads(QPATH.read_text())
V = dict(Q)
f = lambda k: float(Q[k])

# ---- section 5's profile table, as the notebook printed it (for the rows the quoted file leaves out)
def _profile_rows():
    for cell in nbformat.read(P, as_version=4).cells:
        for out in cell.get('outputs', []):
            lines = out.get('text', '').splitlines() if out.get('output_type') == 'stream' else []
            if lines and lines[0].startswith('profiled ms per step'):
                rows = {}
                for line in lines[1:]:
                    m = re.match(r"(.+?)\s+(\d+)((?:\s+-?\d+\.\d+){4})\s*$", line)
                    if m:
                        rows[m.group(1)] = [float(v) for v in m.group(3).split()]
                return rows
    raise SystemExit('fill09: no profile table (section 5) among the notebook outputs')
ROWS = _profile_rows()
row = lambda start: next(v for k, v in ROWS.items() if k.startswith(start))
mm_tut, fit_row = row("original tutorial's step")[0], row("fit's step: fused Adam")
V['mm_tut'] = f"{mm_tut:.2f}"
V['fit_prof'] = f"{sum(fit_row):.2f}"
V['fit_prof_pct'] = f"{100 * (sum(fit_row) / f('s5_step') - 1):.0f}"
d_mm = abs(f('mm_fit') - mm_tut)
V['noise'] = f"{d_mm:.1f}"

# ---- words chosen by the numbers
cpu = re.sub(r'\s*\((R|TM)\)', '', Q.get('cpu') or 'unnamed CPU')
cpu = re.sub(r'\s+(Processor|CPU.*|\d+-Core.*)$', '', cpu).strip()
V['cpu_en'] = ('an ' if cpu[:1].upper() in 'AEIOU' else 'a ') + cpu + (' with native bfloat16' if Q['native_bf16'] else ' without native bfloat16')
V['cpu_zh'] = cpu + ('，原生支持 bfloat16' if Q['native_bf16'] else '，不原生支持 bfloat16')
n = int(Q['threads'].split()[0])
V['threads_zh'] = f"{n} 个线程"
if f('iqr_pct') >= 15:
    V['scatter_en'] = "on a machine shared with other work, one block can take much longer than the next"
    V['scatter_zh'] = "在与其他工作共享的机器上，一个块可能比下一个块慢得多"
else:
    V['scatter_en'] = "the blocks agree this well only while the load on a shared machine stays steady"
    V['scatter_zh'] = "只有当共享机器上的负载保持平稳时，各块才会这样一致"
import math
meds = [f('s2_step'), f('s4_step'), f('s5_step')]
spread = max(meds) / min(meds)
pct = math.ceil(100 * (spread - 1))
if spread > 1.15:
    V['spread_en'] = f"differ by up to {pct} %: on this busy machine the median moves from one minute to the next"
    V['spread_zh'] = f"相差多达 {pct}%：在这台繁忙的机器上，中位数一分钟和下一分钟就不一样"
else:
    V['spread_en'] = f"differ by at most {pct} %; on a busy machine they can differ far more"
    V['spread_zh'] = f"相差不超过 {pct}%；在繁忙的机器上它们可能相差大得多"
# section 4: how much runs below the roofs
op = f('over_pct')
V['over_words_en'] = 'about half' if 43 <= op <= 57 else f"{Q['over_pct']} %"
V['over_words_zh'] = '大约一半' if 43 <= op <= 57 else f"{Q['over_pct']}%"
# section 5: fit's step against section 1's end-to-end ratio
if abs(f('f') - f('r21')) <= 0.1 * f('r21'):
    V['r21_en'] = (f"Section 1 found about the same, {Q['r21']}×, end to end between `fit` and the memory-fed loop: "
                   "the shorter step explains `fit`'s gain over that loop.")
    V['r21_zh'] = (f"第 1 节在端到端比较中，`fit` 相对从内存取数据的循环也快了差不多的 {Q['r21']}×：更短的训练步解释了 `fit` 相对那个循环的收益。")
else:
    V['r21_en'] = (f"Section 1 found {Q['r21']}× end to end between `fit` and the memory-fed loop, measured at another "
                   "moment and with `fit`'s own batching.")
    V['r21_zh'] = (f"第 1 节在端到端比较中测得 `fit` 相对从内存取数据的循环快 {Q['r21']}×，那是在另一时刻、用 `fit` 自己的取批方式测得的。")
# section 3: the profiler's own cost
if f('prof_pct') >= 2:
    little = f('prof_pct') <= 15
    V['prof_en'] = (f"is {Q['prof_pct']} % longer than the median: recording each operation costs time, so the profiler "
                    f"overstates the share of the many small ones{', slightly here' if little else ''}.")
    V['prof_zh'] = (f"比中位数长 {Q['prof_pct']}%：记录每个运算都要花时间，所以性能分析器高估了众多小运算的占比{'，这里只是略微高估' if little else ''}。")
elif f('prof_pct') <= -2:
    V['prof_en'] = (f"is {-int(f('prof_pct'))} % shorter than the median, which was timed minutes earlier on a machine "
                    "whose load changed: compare the profile's shares, not its total.")
    V['prof_zh'] = (f"比中位数短 {-int(f('prof_pct'))}%：中位数是几分钟前在负载已经变化的机器上测的，所以要比较性能分析的占比，而不是它的总时间。")
else:
    V['prof_en'] = "agrees with the median within 2 %: here recording each operation cost little."
    V['prof_zh'] = "与中位数相差不到 2%：这里记录每个运算几乎不花时间。"
# section 5: the profiled total of fit's step against its median (quoted there, next to its table)
V['tot_en'] = (f"In the profile above the same step adds up to {V['fit_prof']} ms, {V['fit_prof_pct']} % more than "
               f"its median of {Q['s5_step']} ms: profiled totals vary from one profile to the next.")
V['tot_zh'] = (f"上面的性能分析中，同一个训练步加起来是 {V['fit_prof']} ms，比它的中位数 {Q['s5_step']} ms 多 "
               f"{V['fit_prof_pct']}%：性能分析的总时间每次都不一样。")
# section 4: Adam against its roof; where the overhead lies
if f('roof_ad') >= 0.7 * f('ms_ad'):
    V['adam_en'] = (f"Adam's kernel takes {Q['ms_ad']} ms, close to the {Q['roof_ad']} ms its roof allows: "
                    "only fewer bytes could shorten it much.")
    V['adam_zh'] = f"Adam 的核函数用了 {Q['ms_ad']} ms，接近它的屋顶所允许的 {Q['roof_ad']} ms：只有更少的字节才能明显缩短它。"
else:
    V['adam_en'] = f"Adam's kernel takes {Q['ms_ad']} ms where its roof allows {Q['roof_ad']} ms."
    V['adam_zh'] = f"Adam 的核函数用了 {Q['ms_ad']} ms，而它的屋顶允许 {Q['roof_ad']} ms。"
# the cache sizes are the stored run's machine's (lscpu: 2 MiB of L2 per core, 4 MiB in all; 480 MiB of L3)
V['adam_en'] += (" That roof is optimistic: Adam works on four arrays the size of the buffer (weights, gradients and "
                 "two moments: 4 × 2.6 = 10.4 MB), which do not fit in the 4 MiB of L2; they stream from the L3 cache "
                 "(480 MiB), slower than the measured roof.")
V['adam_zh'] += ("这个屋顶偏乐观：Adam 要处理四个和缓冲区一样大的数组（权重、梯度和两个矩：4 × 2.6 = 10.4 MB），"
                 "它们放不进 4 MiB 的 L2，只能从 L3 缓存（480 MiB）读写，比测得的屋顶慢。")
above = {k: f(f'ms_{k}') - f(f'roof_{k}') for k in ('mm', 'ad', 'el')}
worst = max(above, key=above.get)
V['worst_en'] = {'mm': 'the products', 'ad': "Adam's kernel", 'el': 'the other operators'}[worst]
V['worst_zh'] = {'mm': '矩阵乘法', 'ad': 'Adam 的核函数', 'el': '其他运算'}[worst]
# section 5
if Q['native_bf16']:
    n_shorter = (f('mm_bf') < f('mm_fit')) + (f('mm_bf') < mm_tut)
    n_shorter += (n_shorter == 2 and f('mm_fit') - f('mm_bf') >= d_mm > mm_tut - f('mm_bf'))  # 3: only the gap to fit's is above the noise
    V['bf_save_en'] = {3: "shorter than `fit`'s, but within this table's noise of the tutorial's",
                       2: "shorter than both, by an amount this table gives no more precisely than its noise",
                       1: "shorter than one of them only, within this table's noise",
                       0: "no shorter"}[n_shorter]
    V['bf_save_zh'] = {3: "比 `fit` 的短，但与原教程的差别在这张表的噪声之内",
                       2: "比两者都短，但短多少，这张表给出的精度不超过它的噪声",
                       1: "只比其中一个短，在这张表的噪声之内",
                       0: "并没有更短"}[n_shorter]
    gain = f('s5_step') / f('bf_ms')
    V['bf16_en'] = ((f"Autocast to bfloat16 gains nothing over `fit`'s float32 step here" if gain < 1.05 else
                     f"Autocast to bfloat16 makes `fit`'s step {gain:.2f}× as fast as in float32 here")
                    + f" ({Q['bf_ms']} against {Q['s5_step']} ms). In the profile its products take {Q['mm_bf']} ms, "
                    f"against {Q['mm_fit']} for `fit`'s step and {V['mm_tut']} for the tutorial's: {V['bf_save_en']}. "
                    f"Its other operators grow from {Q['oo_fit']} to {Q['oo_bf']} ms; which of them grow, and why, "
                    "this notebook does not isolate.")
    V['bf16_zh'] = (("用 bfloat16 的 autocast 在这里没有比 `fit` 的 float32 训练步更快" if gain < 1.05 else
                     f"用 bfloat16 的 autocast 在这里让 `fit` 的训练步比 float32 时快了 {gain:.2f}×")
                    + f"（{Q['bf_ms']} ms 对 {Q['s5_step']} ms）。性能分析中，它的矩阵乘法用 {Q['mm_bf']} ms，而 `fit` 的训练步是 "
                    f"{Q['mm_fit']} ms、原教程的是 {V['mm_tut']} ms：{V['bf_save_zh']}。它的其他运算从 {Q['oo_fit']} ms 增加到 "
                    f"{Q['oo_bf']} ms；哪些运算变慢、为什么变慢，本笔记本没有单独分离出来。")
else:
    V['bf16_en'] = "This CPU has no native bfloat16, so the ladder leaves it out."
    V['bf16_zh'] = "这颗 CPU 不原生支持 bfloat16，所以阶梯图里没有它。"
V['prec_en'] = 'bfloat16' if Q['precision'] == 'bf16' else 'float32'
n_var = 1 + bool(Q['native_bf16']) + bool(Q['can_compile'])  # the rungs after fit's step
V['n_var_en'] = {1: 'one more variant', 2: 'two more variants', 3: 'three more variants'}[n_var]
V['n_var_zh'] = {1: '另一个变体', 2: '另外两个变体', 3: '另外三个变体'}[n_var]
V['n_prof_en'] = {True: 'four', False: 'three'}[bool(Q['native_bf16'])]
V['n_prof_zh'] = {True: '四', False: '三'}[bool(Q['native_bf16'])]
V['comp_en'] = ', compiled Adam' if Q['can_compile'] else ''
V['comp_zh'] = '、编译版 Adam' if Q['can_compile'] else ''
man_en = ['a hand-written backward pass'] + (['bfloat16'] if Q['precision'] == 'bf16' else []) + \
    (['compiled Adam'] if Q['can_compile'] else []) + ['the μ\nand log σ² heads merged into one product']
man_zh = ['手写的反向传播'] + (['bfloat16'] if Q['precision'] == 'bf16' else []) + \
    (['编译版 Adam'] if Q['can_compile'] else []) + ['把 μ 和 log σ² 两个头合并成一次矩阵乘法']
V['man_en'] = f"{ {2: 'two', 3: 'three', 4: 'four'}[len(man_en)]} things at once: " + ', '.join(man_en[:-1]) + ', and ' + man_en[-1]
V['man_zh'] = f"{ {2: '两', 3: '三', 4: '四'}[len(man_zh)]}处：" + '、'.join(man_zh[:-1]) + '，以及' + man_zh[-1]
if abs(f('mm_man') - mm_tut) < d_mm and abs(f('oo_man') - f('oo_fit')) < d_mm:
    V['man_prof_en'] = (f"In the profile its products, {Q['mm_man']} ms against {V['mm_tut']} for the\ntutorial's, and its other "
                        f"operators, {Q['oo_man']} against {Q['oo_fit']} for `fit`'s, differ from them by less than this table's noise.")
    V['man_prof_zh'] = (f"性能分析中，它的矩阵乘法用 {Q['mm_man']} ms（原教程的是 {V['mm_tut']} ms），其他运算用 {Q['oo_man']} ms"
                        f"（`fit` 的是 {Q['oo_fit']} ms）：差别都在这张表的噪声之内。")
else:
    V['man_prof_en'] = (f"In the profile its products take {Q['mm_man']} ms against {Q['mm_fit']} and {V['mm_tut']} for the\n"
                        f"float32 rows, its other operators {Q['oo_man']} against {Q['oo_fit']}.")
    V['man_prof_zh'] = (f"性能分析中，它的矩阵乘法用 {Q['mm_man']} ms（两个 float32 行分别是 {Q['mm_fit']} ms 和 {V['mm_tut']} ms），"
                        f"其他运算用 {Q['oo_man']} ms（对 {Q['oo_fit']} ms）。")
V['compnote_en'] = " (its compiled Adam counts under Python and autograd)" if Q['can_compile'] else ""
V['compnote_zh'] = "（它的编译版 Adam 计入 Python 和 autograd 一栏）" if Q['can_compile'] else ""
if Q['can_compile']:
    save = f('c_save')
    V['compile_en'] = (f"\n\n`torch.compile` of the step function spent {Q['cs']} s compiling in its first two calls, then took "
                       f"{Q['c_ms']} ms against {Q['s5_step']} ms for `fit`'s step ({'saving' if save > 0 else 'losing'} "
                       f"{abs(save):.2f} ms). Inductor compiles the backward of the captured graph too (through AOTAutograd), "
                       "but the products stay calls to the same kernels (`aten::addmm`, `aten::mm`), `zero_grad` and fused "
                       "Adam run outside the graph, and the element-wise work it fuses is only part of the step: the "
                       f"other operators took {Q['ms_el']} ms of section 4's {Q['s4_step']} ms.")
    V['compile_zh'] = (f"\n\n用 `torch.compile` 编译的训练步函数在头两次调用中花了 {Q['cs']} s 编译，之后每步 {Q['c_ms']} ms，"
                       f"而 `fit` 的训练步是 {Q['s5_step']} ms（{'省下' if save > 0 else '多花'} {abs(save):.2f} ms）。"
                       "Inductor 也编译了所捕获计算图的反向传播（通过 AOTAutograd），但矩阵乘法仍然调用同样的核函数（`aten::addmm`、`aten::mm`），"
                       "`zero_grad` 和融合版 Adam 在计算图之外运行，而它融合的逐元素运算只占训练步的一部分："
                       f"在第 4 节的 {Q['s4_step']} ms 中，其他运算用了 {Q['ms_el']} ms。")
else:
    V['compile_en'] = "\n\n`torch.compile` was skipped on this machine (`COMPILE` or no compiler)."
    V['compile_zh'] = "\n\n这台机器上跳过了 `torch.compile`（`COMPILE` 或没有编译器）。"
# section 6: GPU arithmetic (60 TFLOP/s float32, 5 µs per launch: round figures for a current data-centre GPU)
V['gpu_us'] = f"{f('gflop') * 1e9 / 60e12 * 1e6:.0f}"
V['launch_ms'] = f"{f('ops') * 5e-3:.1f}"

EN = {
"On the machine that ran this notebook (": '''On the machine that ran this notebook ({cpu_en}, timed on {threads}), feeding the same
loop from memory made it {r1}× as fast: at least {share} % of the original tutorial's time went into building
batches, not into training. For every image of every epoch, that pipeline builds a PIL image, converts
it back into a tensor and stacks 128 of them, in Python. The in-memory pipeline pays this once.

`fit` went further: {r2}× with its defaults and {r3}× with its fastest settings. A stopwatch around the loop
shows that `fit` is faster, not why; the next sections look inside the training step.''',
"`fit`'s step of 128 images has a median of": '''`fit`'s step of 128 images has a median of {s2_step} ms and an IQR of {iqr} ms over {blocks} blocks:
{scatter_en}. So each comparison below times its contenders in one alternating session, taking turns round after round:
load then slows all of them alike.''',
"The matrix products (`aten::addmm`": '''The matrix products (`aten::addmm` in the forward pass, `aten::mm` in the backward) take {p} % of the self
time, and Adam's fused kernel (`aten::_fused_adam_`) {a} %. The other operators take {e} %: the bias
gradients' sums, copies, and the element-wise work of the loss, the reparameterization and the ReLUs. The
last {w} % is Python and autograd's bookkeeping, `Optimizer.step`'s own Python among it.

A step asks for {ops} operations, most of them a pass over a tensor of the batch's size or smaller. The
profile's total, {prof_ms} ms per step, {prof_en}''',
"Here the product ran at": '''Here the product ran at {gf} GFLOP/s and the in-place pass at {gb} GB/s: a balance point of {bp}
FLOP/byte. That "memory" speed is a cache's, not the main memory's (DRAM): the 2.6 MB buffer stays in this
machine's L2 caches (2 MiB per core, 4 MiB in all, as `lscpu` reports; each of the two threads passes over
half of it), which is why the balance point is so low. The products, at {I_mm} FLOP/byte, lie right of it: they are compute-bound, and only cheaper
arithmetic (bfloat16) shortens them much. Their roof is the speed of their largest product measured alone,
not the CPU's nominal peak.

Adam's fused kernel ({I_ad} FLOP/byte: four numbers read and three written per weight, for about a dozen
FLOPs) and the other operators (about {I_el}: about one FLOP per pass over memory) lie far left of the
balance point: they are memory-bound. {adam_en}

The second figure adds it up. Of the step's {s4_step} ms, {over} ms ({over_words_en}) runs below the roofs.
Only part of that is **overhead** in He's sense: a cost per operation that does not grow with the batch.
A one-element `add_` takes {per_op_us} µs. Times {ops} operations, plus the {ms_bk} ms of Python and
autograd, that is about {fixed_ms} ms. The other {rest_ms} ms is kernels below their roof: the element-wise
operators, the skinny backward and head products, and Adam streaming from L3.

The profiler overstates the small operations, so these splits are uncertain by tens of per cent, and the
{over_pct} % below the roofs is an upper bound. Fusion attacks both parts: fewer passes, fewer operations.''',
"The loss moves by": '''The loss moves by {rel} of itself, and the gradient by {gdiff} % of its norm. The loss,
{l32} nats, is low because the timings above trained this model on this one batch for over a hundred
steps. Now the ladder: the original tutorial's step, `fit`'s step and {n_var_en}, timed in one
alternating session. The rungs are not cumulative: each changes several things at once
and is measured as a whole. A profile of {n_prof_en} of them follows, taken as in section 3.''',
"`fit`'s step is ": '''`fit`'s step is {f}× as fast as the original tutorial's step. {r21_en}

`fit`'s step took {s2_step}, {s4_step} and {s5_step} ms in sections 2, 4 and 5: its medians {spread_en}.
{tot_en}
Profiled times differ more, even within one table: the original tutorial's step and `fit`'s step run the same
float32 products, yet the table gives them {mm_tut} and {mm_fit} ms. So differences under about {noise} ms in
that table are noise.

{bf16_en}

The hand-written rung changes {man_en}. Together they give {h}×, the most of the ladder; which of them does the work,
this ladder does not isolate. The rung casts all weights in one copy and runs {ops_man} operations instead of
{ops_fit}{compnote_en}. {man_prof_en}{compile_en}''',
"## 6 · What changes on a GPU": '''## 6 · What changes on a GPU · GPU上有什么不同

The stored run had no GPU, so this section predicts rather than measures. On a GPU the cells above measure
the GPU (they synchronize, and `torch.compile` records CUDA graphs). At roughly 60 TFLOP/s (float32, a round figure for a current data-centre GPU), the
step's {gflop} GFLOP of products take about {gpu_us} µs. Dispatching about a hundred operations at an assumed
5 µs each costs about 0.5 ms. So nearly all of the step should be overhead, which fusion and CUDA graphs
attack.''',
}
ZH = {
"On the machine that ran this notebook (": "在运行本笔记本的机器上（{cpu_zh}，用 {threads_zh}计时），同一个循环改为从内存取数据后快了 {r1}×：原教程至少 {share}% 的时间花在构造小批量上，而不是训练上。对每个轮次的每张图像，那条输入管道都要构造一张 PIL 图像，再把它转换回张量，然后在 Python 中把 128 张堆叠起来。内存中的输入管道只付一次这个代价。\n\n`fit` 更进一步：默认设置下 {r2}×，最快设置下 {r3}×。围着循环掐秒表只能看出 `fit` 更快，看不出为什么；下面几节深入训练步内部。",
"`fit`'s step of 128 images has a median of": "`fit` 处理 128 张图像的一个训练步，在 {blocks} 个块上的中位数是 {s2_step} ms，IQR 为 {iqr} ms：{scatter_zh}。所以下面的每个比较都把各个竞争者放在同一次交替计时中，它们一轮接一轮地轮流运行：负载对它们的拖慢是一样的。",
"The matrix products (`aten::addmm`": "矩阵乘法（前向传播中的 `aten::addmm`、反向传播中的 `aten::mm`）占 self 时间的 {p}%，Adam 的融合核函数（`aten::_fused_adam_`）占 {a}%。其他运算占 {e}%：偏置梯度的求和、复制，以及损失、重参数化和 ReLU 的逐元素运算。最后的 {w}% 是 Python 和 autograd 的记录工作，其中包括 `Optimizer.step` 自身的 Python 代码。\n\n一个训练步发起 {ops} 个运算，其中大多数是对一个不大于小批量规模的张量的一次遍历。性能分析的总时间是每步 {prof_ms} ms，{prof_zh}",
"Here the product ran at": "这里矩阵乘法的速度是 {gf} GFLOP/s，原地遍历的速度是 {gb} GB/s：平衡点为 {bp} FLOP/byte。这个“内存”速度其实是缓存的速度，而不是主存（DRAM）的：2.6 MB 的缓冲区留在这台机器的 L2 缓存里（据 `lscpu`，每个核 2 MiB，共 4 MiB；两个线程各遍历一半），所以平衡点才这么低。矩阵乘法的 {I_mm} FLOP/byte 位于它的右侧：它们受计算限制，只有更便宜的算术（bfloat16）才能明显缩短它们。它们的屋顶是其中最大的一次矩阵乘法单独测得的速度，而不是这颗 CPU 的标称峰值。\n\nAdam 的融合核函数（{I_ad} FLOP/byte：每个权重读四个数、写三个数，只做十几次浮点运算）和其他运算（约 {I_el}：每遍历一次内存只做约一次浮点运算）远在平衡点左侧：它们受内存限制。{adam_zh}\n\n第二张图把这些加在一起。训练步的 {s4_step} ms 中，有 {over} ms（{over_words_zh}）运行在屋顶之下。其中只有一部分是 He 所说的**开销**：每个运算的固定代价，不随小批量增大。一次单元素的 `add_` 用时 {per_op_us} µs。乘以 {ops} 个运算，再加上 Python 和 autograd 的 {ms_bk} ms，约为 {fixed_ms} ms。其余的 {rest_ms} ms 是低于屋顶运行的核函数：逐元素运算、反向传播和两个头中细长的矩阵乘法，以及要从 L3 缓存读写数据的 Adam。\n\n性能分析器高估了小运算，所以这些划分有几十个百分点的不确定性，屋顶之下的 {over_pct}% 是一个上界。融合同时对付这两部分：更少的遍历，更少的运算。",
"The loss moves by": "损失只相对变化了 {rel}，梯度只变化了其范数的 {gdiff}%。损失 {l32} 奈特之所以低，是因为上面的计时已经在这同一个小批量上把这个模型训练了一百多步。现在来看阶梯：原教程的训练步、`fit` 的训练步和{n_var_zh}，在同一次交替计时中测量。各级并不累加：每一级同时改变了好几处，作为一个整体来衡量。随后是其中{n_prof_zh}个的性能分析，做法与第 3 节相同。",
"`fit`'s step is ": "`fit` 的训练步是原教程训练步的 {f}× 快。{r21_zh}\n\n`fit` 的训练步在第 2、4、5 节分别用了 {s2_step}、{s4_step} 和 {s5_step} ms：它的中位数{spread_zh}。{tot_zh}性能分析的时间差得更多，即使在同一张表内也是如此：原教程的训练步和 `fit` 的训练步运行同样的 float32 矩阵乘法，表中却分别是 {mm_tut} ms 和 {mm_fit} ms。所以在那张表里，小于约 {noise} ms 的差别都是噪声。\n\n{bf16_zh}\n\n手写的这一级同时改变了{man_zh}。它们合起来得到 {h}×，是阶梯中最快的；其中哪一处起了作用，这个阶梯没有单独分离出来。这一级用一次复制转换所有权重，运行 {ops_man} 个运算而不是 {ops_fit} 个{compnote_zh}。{man_prof_zh}{compile_zh}",
"## 6 · What changes on a GPU": "## 6 · GPU 上有什么不同\n\n本笔记本保存的运行没有 GPU，所以这一节是预测，而不是测量。在 GPU 上，上面的单元格测量的就是 GPU（它们会同步，`torch.compile` 会录制 CUDA 图）。以约 60 TFLOP/s（float32，当前数据中心 GPU 的一个整数估计）的速度，训练步中 {gflop} GFLOP 的矩阵乘法只需约 {gpu_us} µs。按假定的每个 5 µs 分派大约一百个运算，共需约 0.5 ms。所以训练步应当几乎全是开销，而这正是融合和 CUDA 图所对付的。",
}

nb = nbformat.read(P, as_version=4)
pairs = []  # (English paragraph, Chinese paragraph): the translation catalog has one entry per paragraph
for key, tmpl in EN.items():
    hits = [c for c in nb.cells if c.cell_type == 'markdown' and c.source.startswith(key)]
    assert len(hits) == 1, (key, len(hits))
    hits[0].source = tmpl.format(**V)
    en, zh = hits[0].source.split('\n\n'), ZH[key].format(**V).split('\n\n')
    assert len(en) == len(zh), (key, len(en), len(zh))
    pairs += [(a, b) for a, b in zip(en, zh) if not a.startswith('#')]
nbformat.write(nb, P)
print('English filled')
py = sys.executable
subprocess.run([py, '-m', 'vae_helpers.translation', 'extract', '09'], cwd=ROOT, check=True)
po = polib.pofile(str(PO), wrapwidth=0)
norm = lambda t: ' '.join(t.split())
done = set()
for e in po:
    if e.obsolete:
        continue
    hits = [i for i, (a, _) in enumerate(pairs) if norm(e.msgid) == norm(a)]
    if len(hits) == 1:
        e.msgstr = pairs[hits[0]][1]
        if 'fuzzy' in e.flags:
            e.flags.remove('fuzzy')
        e.previous_msgid = e.previous_msgid_plural = e.previous_msgctxt = None
        done.add(hits[0])
po.save(str(PO))
print('Chinese filled:', len(done), 'of', len(pairs), 'paragraphs',
      '' if len(done) == len(pairs) else [pairs[i][0][:50] for i in range(len(pairs)) if i not in done])
if '--no-build' not in sys.argv:
    subprocess.run([py, '-m', 'vae_helpers.translation', 'build', '09'], cwd=ROOT, check=True)
