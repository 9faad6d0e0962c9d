x
 