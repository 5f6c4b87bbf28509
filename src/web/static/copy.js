// kzymy: a "Copy" button on each block meant to be copied (commands, PGP messages).
// Without JavaScript the blocks are plain text to select by hand.
/* global document, navigator */
'use strict';
(function () {
  if (!navigator.clipboard) return;
  var blocks = document.querySelectorAll('pre.copy');
  for (var i = 0; i < blocks.length; i++) {
    (function (block) {
      var button = document.createElement('button');
      button.type = 'button';
      button.className = 'copy-button';
      button.textContent = 'Copy';
      button.addEventListener('click', function () {
        var code = block.querySelector('code');
        var text = code ? code.textContent : '';
        navigator.clipboard.writeText(text).then(
          function () {
            button.textContent = 'Copied';
          },
          function () {
            button.textContent = 'Select and copy by hand';
          },
        );
      });
      block.appendChild(button);
    })(blocks[i]);
  }
})();
