//! The widget's memory allocator: power-of-two size classes, each with a free list.
//!
//! Why not std's default (dlmalloc): it is about 8 KB of wasm, a tenth of the widget's code,
//! for a program that holds a few kilobytes at a time. This one is a few hundred bytes. It
//! trades memory for size: a block is rounded up to a power of two, and a freed block is only
//! reused for its own class. The widget allocates the same few shapes every second (the texts
//! of the overlay, one poll's strings), so after the first minutes every allocation is served
//! from a free list and the memory in use stays flat; wasm memory never shrinks anyway.
//!
//! Memory comes from [`Pages`] (`memory.grow` in the browser, an arena in the tests) and is
//! carved from its top, each block aligned to its own size (to the page for bigger ones), so
//! any alignment up to a block's size holds.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::UnsafeCell;
use std::ptr;

/// The unit memory grows by: one wasm page.
pub const PAGE: usize = 64 * 1024;
/// One free list per power of two that a `usize` can hold.
const CLASSES: usize = usize::BITS as usize;

/// Where fresh memory comes from.
pub trait Pages {
    /// Adds `count` pages and returns the address of the first, or `None` when there is no more.
    fn grow(&self, count: usize) -> Option<usize>;
}

/// The allocator; see the module documentation.
#[derive(Debug)]
pub struct SizeClasses<P> {
    pages: P,
    state: UnsafeCell<State>,
}

#[derive(Debug)]
struct State {
    /// The head of each class's free list (0: empty); a free block starts with the next link.
    free: [usize; CLASSES],
    /// The unused part of the last region obtained from `pages`.
    next: usize,
    end: usize,
}

// SAFETY: the widget is single-threaded (wasm32 without the `atomics` feature; the tests use
// one allocator per thread), so the state is never reached from two threads.
unsafe impl<P: Sync> Sync for SizeClasses<P> {}

impl<P> SizeClasses<P> {
    /// An allocator that has not taken any memory yet.
    pub const fn new(pages: P) -> Self {
        SizeClasses { pages, state: UnsafeCell::new(State { free: [0; CLASSES], next: 0, end: 0 }) }
    }
}

/// The class of `layout`: blocks of `1 << class` bytes, large enough for its size, its
/// alignment and a free-list link; `None` past half the address space or for an alignment
/// beyond a page.
fn class_of(layout: Layout) -> Option<usize> {
    if layout.align() > PAGE {
        return None;
    }
    let size = layout.size().max(layout.align()).max(size_of::<usize>());
    let class = size.checked_next_power_of_two()?.trailing_zeros() as usize;
    (class < CLASSES - 1).then_some(class)
}

impl<P: Pages> SizeClasses<P> {
    /// A fresh block of class `class` from the current region, growing it when needed.
    fn carve(&self, state: &mut State, class: usize) -> Option<usize> {
        let size = 1usize << class;
        let align = size.min(PAGE);
        let mut start = state.next.checked_add(align - 1)? & !(align - 1);
        if start.checked_add(size)? > state.end {
            let count = size.div_ceil(PAGE);
            let region = self.pages.grow(count)?;
            if region != state.end {
                // Someone else grew the memory in between: start a new region (the rest of the
                // old one is lost, which happens at most once per foreign growth).
                state.next = region;
            }
            state.end = region + count * PAGE;
            // Regions end on page boundaries and `align` is at most a page, so aligning never
            // passes the old end: the block fits in the `count` pages just added.
            start = state.next.checked_add(align - 1)? & !(align - 1);
        }
        state.next = start + size;
        Some(start)
    }
}

// SAFETY: every block handed out is `1 << class_of(layout)` bytes, aligned to at least
// `layout.align()`, and given to one owner at a time: it leaves a free list or the unused region
// when allocated and returns to its class's list only when deallocated.
unsafe impl<P: Pages> GlobalAlloc for SizeClasses<P> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(class) = class_of(layout) else { return ptr::null_mut() };
        // SAFETY: single-threaded, and no reference to the state outlives this call.
        let state = unsafe { &mut *self.state.get() };
        let head = state.free[class];
        if head != 0 {
            // SAFETY: `head` is a free block of this class, whose first word is the next link.
            state.free[class] = unsafe { *(head as *const usize) };
            return head as *mut u8;
        }
        self.carve(state, class).map_or(ptr::null_mut(), |address| address as *mut u8)
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        let Some(class) = class_of(layout) else { return };
        // SAFETY: as in `alloc`; `block` came from `alloc` with this layout, so it belongs to
        // `class` and is big and aligned enough to hold the link.
        let state = unsafe { &mut *self.state.get() };
        unsafe { *(block as *mut usize) = state.free[class] };
        state.free[class] = block as usize;
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `new_size` with `layout.align()` is a valid layout.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        if class_of(new_layout).is_some() && class_of(new_layout) == class_of(layout) {
            return block; // the block already has room
        }
        // SAFETY: as `GlobalAlloc::realloc`'s default, which this is.
        unsafe {
            let moved = self.alloc(new_layout);
            if !moved.is_null() {
                ptr::copy_nonoverlapping(block, moved, layout.size().min(new_size));
                self.dealloc(block, layout);
            }
            moved
        }
    }
}

/// `memory.grow` on the widget's one memory.
#[cfg(target_arch = "wasm32")]
#[derive(Debug)]
pub struct WasmPages;

#[cfg(target_arch = "wasm32")]
impl Pages for WasmPages {
    fn grow(&self, count: usize) -> Option<usize> {
        let previous = core::arch::wasm32::memory_grow::<0>(count);
        (previous != usize::MAX).then(|| previous * PAGE)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use proptest::prelude::*;

    use super::*;

    /// Pages from a fixed arena, as `memory.grow` hands them out.
    struct Arena {
        base: usize,
        pages: usize,
        used: Cell<usize>,
    }

    impl Arena {
        fn new(pages: usize) -> Arena {
            let layout = Layout::from_size_align(pages * PAGE, PAGE).unwrap();
            // SAFETY: a non-zero size; leaked on purpose, the tests are short.
            let base = unsafe { std::alloc::alloc(layout) } as usize;
            assert_ne!(base, 0);
            Arena { base, pages, used: Cell::new(0) }
        }
    }

    impl Pages for &Arena {
        fn grow(&self, count: usize) -> Option<usize> {
            let used = self.used.get();
            (used + count <= self.pages).then(|| {
                self.used.set(used + count);
                self.base + used * PAGE
            })
        }
    }

    #[test]
    fn classes_cover_size_alignment_and_the_link() {
        let class = |size, align| class_of(Layout::from_size_align(size, align).unwrap());
        let word = size_of::<usize>().trailing_zeros() as usize;
        assert_eq!(class(1, 1), Some(word));
        assert_eq!(class(24, 8), Some(5));
        assert_eq!(class(32, 8), Some(5));
        assert_eq!(class(33, 1), Some(6));
        assert_eq!(class(1, 256), Some(8));
        assert_eq!(class(1, PAGE * 2), None);
    }

    #[test]
    fn a_freed_block_is_reused_by_its_class_only() {
        let arena = Arena::new(4);
        let a = SizeClasses::new(&arena);
        let small = Layout::from_size_align(20, 4).unwrap();
        let big = Layout::from_size_align(100, 4).unwrap();
        unsafe {
            let p = a.alloc(small);
            a.dealloc(p, small);
            assert_ne!(a.alloc(big), p);
            assert_eq!(a.alloc(small), p);
        }
    }

    #[test]
    fn out_of_memory_is_a_null_pointer_not_a_crash() {
        let arena = Arena::new(2);
        let a = SizeClasses::new(&arena);
        unsafe {
            assert!(!a.alloc(Layout::from_size_align(PAGE, 8).unwrap()).is_null());
            assert!(!a.alloc(Layout::from_size_align(PAGE, 8).unwrap()).is_null());
            assert!(a.alloc(Layout::from_size_align(8, 8).unwrap()).is_null());
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Alloc { size: usize, align_shift: u32 },
        Free(usize),
        Grow(usize, usize),
    }

    fn any_op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (1usize..5000, 0u32..8).prop_map(|(size, align_shift)| Op::Alloc { size, align_shift }),
            (1usize..150_000, 0u32..3)
                .prop_map(|(size, align_shift)| Op::Alloc { size, align_shift }),
            any::<usize>().prop_map(Op::Free),
            (any::<usize>(), 1usize..10_000).prop_map(|(i, size)| Op::Grow(i, size)),
        ]
    }

    proptest! {
        /// Blocks are aligned, never overlap, and keep their bytes through `realloc`.
        #[test]
        fn live_blocks_keep_their_contents(ops in proptest::collection::vec(any_op(), 1..300)) {
            let arena = Arena::new(64);
            let a = SizeClasses::new(&arena);
            let mut live: Vec<(*mut u8, Layout, u8)> = Vec::new();
            let fill = |p: *mut u8, len: usize, byte: u8| unsafe { ptr::write_bytes(p, byte, len) };
            let intact = |p: *const u8, len: usize, byte: u8| unsafe { std::slice::from_raw_parts(p, len).iter().all(|&b| b == byte) };
            for (n, op) in ops.into_iter().enumerate() {
                let byte = n as u8;
                match op {
                    Op::Alloc { size, align_shift } => {
                        let layout = Layout::from_size_align(size, 1 << align_shift).unwrap();
                        let p = unsafe { a.alloc(layout) };
                        if p.is_null() {
                            continue; // the arena is full
                        }
                        prop_assert_eq!(p as usize % layout.align(), 0);
                        fill(p, size, byte);
                        live.push((p, layout, byte));
                    }
                    Op::Free(i) if !live.is_empty() => {
                        let (p, layout, b) = live.swap_remove(i % live.len());
                        prop_assert!(intact(p, layout.size(), b), "a block was overwritten");
                        unsafe { a.dealloc(p, layout) };
                    }
                    Op::Grow(i, new_size) if !live.is_empty() => {
                        let i = i % live.len();
                        let (p, layout, old) = live[i];
                        let q = unsafe { a.realloc(p, layout, new_size) };
                        if q.is_null() {
                            continue;
                        }
                        prop_assert!(intact(q, layout.size().min(new_size), old));
                        fill(q, new_size, byte);
                        live[i] = (q, Layout::from_size_align(new_size, layout.align()).unwrap(), byte);
                    }
                    _ => {}
                }
            }
            for &(p, layout, b) in &live {
                prop_assert!(intact(p, layout.size(), b), "a block was overwritten");
            }
        }
    }
}
