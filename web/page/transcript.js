// The conversation's behaviour: the body of the transcript gr.HTML's js_on_load (see app.py).
// It scrolls itself to the start of the latest exchange, so a long answer is read from its first
// line (Gradio's own autoscroll would jump to the bottom, and missed updates here).
watch('value', () => {
  const turns = element.querySelectorAll('.rq-turn');
  const last = turns[turns.length - 1];
  let box = element;
  while (box && !(box.scrollHeight > box.clientHeight && ['auto', 'scroll'].includes(getComputedStyle(box).overflowY))) box = box.parentElement;
  if (!last || !box || box === document.documentElement) return;
  box.scrollTop += last.getBoundingClientRect().top - box.getBoundingClientRect().top - 8;
});
